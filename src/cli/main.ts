/** The `rto` command line: one entry, one module per group of commands. */
import { ConfigError } from '../config/load';
import { TemporalCliError } from '../temporal/cli-binary';
import { EXIT, UsageError } from './args';
import { printable, printableLine } from './terminal';

export const USAGE = `rto: OASIS orders into Alma, one Temporal workflow per order.

Usage:
  rto start                          run everything locally on the embedded defaults (npm start)
  rto worker                         run the worker only (production; connects to TEMPORAL_ADDRESS)
  rto http                           run the HTTP intake only
  rto order ...                      submit, check, status, cancel, list orders (rto order --help)
  rto edi run <account> [--json]     pick up the vendor's EDI files now
  rto edi read <file> [--json]       read an EDI file and print what it says (touches nothing)
  rto edi retry <account> <file>     read a rejected EDI file again once its cause is fixed
  rto overlay run <account> [file] [--json]   run the MARC overlay now
  rto marc read <file> [--json] [--encoding auto|utf8|marc8]   read a MARC file and print its records (touches nothing)
  rto schedules sync                 create or update the EDI and overlay schedules
  rto digest run <account> [--json]   the account's daily digest to its staff, now
  rto ui-url [--needs-attention] [--account A] [--stage S] [--alert X]   the Temporal UI's order list, filtered
  rto sandbox alma [--port N] [--state FILE]  run the Alma sandbox alone
  rto sandbox vendor-files <account> <orderId>...  write the vendor's EDI and MARC files for orders (to try them)
  rto codec-server                   serve the payload codec to the Temporal UI and CLI (token, CORS)
  rto doctor [account] [--json]      check the set-up against Alma, SMTP and the vendor file sources
  rto cluster [--workers N]          the production shape here: PostgreSQL, the Temporal server (TLS), workers, intake, UI
  rto temporal-cli                   print the Temporal CLI's path (building it if needed)
  rto build-bundle                   write the prebuilt workflow bundle to dist/
  rto bench                          run the benchmarks and print their figures

Exit codes: 0 success, 2 invalid order (or an unknown stage, alert, reason or account), 1 anything else,
130/143 when interrupted (SIGINT/SIGTERM) while waiting on an order.`;

// Commands are loaded on use with require (not import()): tsx's CommonJS hook, which bin/rto.js registers, and
// the compiled build both resolve it, and `rto --help` stays fast.
export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? EXIT.failure : EXIT.ok;
    case 'start':
      return (require('./start') as typeof import('./start')).startCommand();
    case 'worker':
      return (require('./worker-command') as typeof import('./worker-command')).workerCommand(rest);
    case 'http':
      return (require('./worker-command') as typeof import('./worker-command')).httpCommand(rest);
    case 'order':
      return (require('./order-commands') as typeof import('./order-commands')).orderCommand(rest);
    case 'edi':
      return (require('./edi-commands') as typeof import('./edi-commands')).ediCommand(rest);
    case 'marc':
      return (require('./marc-commands') as typeof import('./marc-commands')).marcCommand(rest);
    case 'overlay':
    case 'schedules':
      return (require('./followup-commands') as typeof import('./followup-commands')).followUpCommand(
        cmd,
        rest,
      );
    case 'digest':
      return (require('./digest-command') as typeof import('./digest-command')).digestCommand(rest);
    case 'ui-url':
      return (require('./ui-url-command') as typeof import('./ui-url-command')).uiUrlCommand(rest);
    case 'sandbox':
      return (require('./sandbox-command') as typeof import('./sandbox-command')).sandboxCommand(rest);
    case 'codec-server':
      return (
        require('./codec-server-command') as typeof import('./codec-server-command')
      ).codecServerCommand(rest);
    case 'cluster':
      return (require('./cluster-command') as typeof import('./cluster-command')).clusterCommand(rest);
    case 'doctor':
      return (require('./doctor-command') as typeof import('./doctor-command')).doctorCommand(rest);
    case 'temporal-cli': {
      const { resolveTemporalCli } =
        require('../temporal/cli-binary') as typeof import('../temporal/cli-binary');
      const cli = await resolveTemporalCli();
      process.stdout.write(`${cli.path}\n`);
      return EXIT.ok;
    }
    case 'build-bundle':
      return (require('./build-bundle') as typeof import('./build-bundle')).buildBundleCommand();
    case 'bench': {
      // The benchmarks live beside the sources (not in the production build): loaded by path.
      const benchModule = '../../bench/run';
      return (require(benchModule) as { benchCommand(a: string[]): Promise<number> }).benchCommand(rest);
    }
    default:
      process.stderr.write(printable(`unknown command "${cmd}"\n\n${USAGE}\n`));
      return EXIT.failure;
  }
}

export function main(argv: string[]): void {
  run(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const err = e as Error;
      // Messages can quote what came from outside (arguments, orders, Alma, vendor files): printable only.
      if (e instanceof UsageError || e instanceof ConfigError || e instanceof TemporalCliError)
        process.stderr.write(`${printable(err.message)}\n`);
      else {
        // A failed workflow's own reason is in its cause chain: show it, not only "Workflow execution failed".
        let cause = (err as { cause?: Error }).cause;
        const reasons: string[] = [];
        while (cause && reasons.length < 4) {
          reasons.push(cause.message);
          cause = (cause as { cause?: Error }).cause;
        }
        process.stderr.write(`rto: ${[err.message, ...reasons].map(printableLine).join(': ')}\n`);
      }
      process.exitCode = e instanceof UsageError ? e.exitCode : EXIT.failure;
    },
  );
}
