/** `rto build-bundle`: the prebuilt workflow bundle production workers load (no bundling at start). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

export async function buildBundleCommand(): Promise<number> {
  const root = path.join(__dirname, '..', '..');
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(root, 'src', 'workflows', 'index.ts'),
  });
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  const out = path.join(root, 'dist', 'workflow-bundle.js');
  writeFileSync(out, code);
  process.stdout.write(`wrote ${out} (${Math.round(code.length / 1024)} KiB)\n`);
  return 0;
}
