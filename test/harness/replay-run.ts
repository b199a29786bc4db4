/**
 * Replays every recorded history against the current workflow code and prints one JSON line of results.
 * Run as a plain Node process (not inside Jest, whose module registry breaks the SDK's protobuf decoding).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from './histories';

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const results: { file: string; ok: boolean; error?: string }[] = [];
  for (const file of readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'))) {
    const history = JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
    try {
      await Worker.runReplayHistory(
        { workflowsPath: require.resolve('../../src/workflows'), replayName: file },
        history,
        file,
      );
      results.push({ file, ok: true });
    } catch (e) {
      results.push({ file, ok: false, error: `${(e as Error).name}: ${(e as Error).message}` });
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e) + '\n');
  process.exit(1);
});
