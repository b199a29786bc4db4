/** `rto doctor [account] [--json]`: the set-up checked against Alma, SMTP and the vendor file sources. */
import { runDoctor, reportLines } from '../doctor';
import { EXIT, oneOf, parse, printJson, UsageError } from './args';
import { loadContext } from './context';
import { printableLine } from './terminal';

const USAGE = `Usage: rto doctor [account] [--json]

Checks, for every account (or the one named), against its Alma: the API key and the areas it may use, that it
is a production key where that can be told, the vendor and vendor account, the funds, libraries and locations,
the codes from Alma's code tables, the fund-location rules; then the SMTP relay (connect and EHLO, no mail)
and each vendor file source (listed). Nothing is changed. Exit 0 when all is well, 1 otherwise.
  --json   print the report as one JSON object`;

export async function doctorCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, USAGE);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`one account at most\n\n${USAGE}`);
  const ctx = loadContext();
  const account = positionals[0]
    ? oneOf('account', positionals[0], Object.keys(ctx.config.accounts))
    : undefined;
  const report = await runDoctor({
    config: ctx.config,
    settings: ctx.settings,
    ...(account ? { account } : {}),
    logger: ctx.logger,
  });
  if (values.json) printJson(report);
  else process.stdout.write(reportLines(report).map(printableLine).join('\n') + '\n');
  return report.ok ? EXIT.ok : EXIT.failure;
}
