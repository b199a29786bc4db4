/**
 * One real Temporal dev server for the whole test run: obtained (built with Go on first use), started on a
 * free port in memory with the project's search attributes, and stopped by global-teardown.
 * RTO_TEST_NO_TEMPORAL=1 skips it for quick runs of tests that need no server.
 */
import { resolveTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';

export default async function globalSetup(): Promise<void> {
  if (process.env.RTO_TEST_NO_TEMPORAL) return;
  const log = (line: string) => process.stderr.write(`[temporal] ${line}\n`);
  const cli = await resolveTemporalCli({ log });
  const started = Date.now();
  const server: DevServer = await startDevServer({
    binary: cli.path,
    headless: true,
    port: 0,
    logLevel: 'error',
  });
  log(`dev server ${server.address} (${cli.source}: ${cli.path}) ready in ${Date.now() - started} ms`);
  // Workers are spawned after global set-up, so they inherit this.
  process.env.TEMPORAL_TEST_ADDRESS = server.address;
  (globalThis as { __rtoTemporal?: DevServer }).__rtoTemporal = server;
}
