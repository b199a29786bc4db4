/** `rto ui-url`: the Temporal UI's workflow list, filtered to the orders staff want to see, as one link. */
import { own } from '../config/lookup';
import { uiBaseUrl, workflowListUrl } from '../client/ui-url';
import { ALERTS, NEEDS_STAFF_STAGES, STAGES, type Alert, type Stage } from '../order/types';
import { EXIT, UnknownValueError, UsageError, oneOf, parse } from './args';
import { loadContext } from './context';

export const UI_URL_USAGE = `Usage:
  rto ui-url [--needs-attention] [--account <code>] [--stage <STAGE>] [--alert <ALERT>]

Prints the Temporal UI's workflow list for the namespace, filtered to the orders asked for (the filters add
up). --needs-attention: orders with any open alert (OrderAlerts) or in a stage staff must act on
(${[...NEEDS_STAFF_STAGES].join(', ')}).
Stages: ${STAGES.join(', ')}
Alerts: ${ALERTS.join(', ')}
Environment: TEMPORAL_UI_URL (the UI as staff open it; unset, http://127.0.0.1:TEMPORAL_UI_PORT),
TEMPORAL_NAMESPACE, RTO_CONFIG (the accounts --account may name).`;

export function uiUrlCommand(args: string[]): number {
  const { values, positionals } = parse(
    args,
    {
      'needs-attention': { type: 'boolean' },
      account: { type: 'string' },
      stage: { type: 'string' },
      alert: { type: 'string' },
    },
    UI_URL_USAGE,
  );
  if (values.help) {
    process.stdout.write(UI_URL_USAGE + '\n');
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`ui-url takes no arguments\n\n${UI_URL_USAGE}`);
  const ctx = loadContext();
  // Only known values go into the query (an unknown one would only list nothing, silently).
  if (values.account !== undefined && !own(ctx.config.accounts, values.account))
    throw new UnknownValueError(
      `unknown account "${values.account}" (--account); known accounts: ${Object.keys(ctx.config.accounts).join(', ')}`,
    );
  const stage: Stage | undefined =
    values.stage === undefined ? undefined : oneOf('stage', values.stage, STAGES, ' (--stage)');
  const alert: Alert | undefined =
    values.alert === undefined ? undefined : oneOf('alert', values.alert, ALERTS, ' (--alert)');
  const url = workflowListUrl(uiBaseUrl(ctx.settings), ctx.settings.TEMPORAL_NAMESPACE, {
    account: values.account,
    stage,
    alert,
    needsAttention: values['needs-attention'] === true,
  });
  process.stdout.write(url + '\n');
  return EXIT.ok;
}
