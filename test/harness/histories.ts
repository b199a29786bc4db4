/**
 * Recorded workflow histories for replay tests. With RTO_RECORD_HISTORIES=1, tests that finish a workflow write
 * its history (as `temporal workflow show -o json` prints it) to test/histories/<name>.json; the replay test
 * replays every file against the current code, so a change that would break running orders fails the suite
 * (make such changes with patched()). RTO_RECORD_HISTORIES=name,name records only those (new histories
 * without rewriting the others a test file also records).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { testAddress } from './temporal';

export const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

/** `address`: another server than the run's (the fast tier's local test server). */
export async function recordHistory(
  _client: unknown,
  workflowId: string,
  name: string,
  address = testAddress(),
): Promise<void> {
  const wanted = process.env.RTO_RECORD_HISTORIES;
  if (!wanted) return;
  if (wanted !== '1' && !wanted.split(',').some((n) => n.trim() === name)) return;
  const cli = findTemporalCli();
  if (!cli) throw new Error('no Temporal CLI to export the history with');
  const out = spawnSync(
    cli.path,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      address,
      '--namespace',
      'default',
      '--output',
      'json',
    ],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (out.status !== 0) throw new Error(`temporal workflow show failed: ${out.stderr}`);
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), out.stdout);
}
