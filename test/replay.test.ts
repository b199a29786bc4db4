/**
 * Replays recorded histories (test/histories/*.json, recorded with RTO_RECORD_HISTORIES=1) against the current
 * workflow code: a change that would break orders already running fails here. No server is needed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { HISTORIES_DIR } from './harness/histories';

jest.setTimeout(180_000);

test('every recorded history replays on the current workflow code', () => {
  const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));
  expect(files).toEqual(
    expect.arrayContaining([
      'order-completed.json',
      'order-cancelled-after-po-line.json',
      'order-failed-unauthorised.json',
      'overlay-run.json',
    ]),
  );
  const run = spawnSync(
    process.execPath,
    ['-r', 'tsx/cjs', path.join(__dirname, 'harness', 'replay-run.ts')],
    {
      encoding: 'utf8',
      cwd: path.join(__dirname, '..'),
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  expect(
    run.stderr
      .trim()
      .split('\n')
      .filter((l) => /^Error|TypeError/.test(l)),
  ).toEqual([]);
  const results = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    file: string;
    ok: boolean;
    error?: string;
  }[];
  expect(results.filter((r) => !r.ok)).toEqual([]);
  expect(results.map((r) => r.file).sort()).toEqual(files.sort());
});
