/**
 * Configuration looked up by codes that come from outside (an order, a command line, a vendor file): names of
 * JavaScript's own object members (`constructor`, `__proto__`, `toString`) find nothing, they are not
 * Object.prototype's members taken for an account or an institution. Needs no Temporal server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { loadConfigFile } from '../src/config/load';
import { emailActivities } from '../src/activities/email';
import { overlayActivities } from '../src/activities/overlay';
import { validateActivities } from '../src/activities/validate';
import { AlmaAccess } from '../src/institution/alma-access';
import { createLogger } from '../src/logging';
import type { Mailer } from '../src/mail';
import { VALID_EXAMPLES } from './harness/fixtures';

const NAMES = ['constructor', '__proto__', 'toString'];
const config = loadConfigFile(join(__dirname, '..', 'config', 'example.json'));
const logger = createLogger({ level: 'silent', pretty: false });
const order = (account: string) => ({
  ...(JSON.parse(readFileSync(join(VALID_EXAMPLES, 'print-single-fund.json'), 'utf8')) as object),
  account,
});

describe.each(NAMES)('%s as a code', (name) => {
  test('the validation step refuses the order naming the account', async () => {
    const { validateOrderActivity } = validateActivities({ config, taskQueue: 'q' });
    const r = await validateOrderActivity(order(name));
    expect(r).toEqual({
      ok: false,
      problems: [
        { path: 'account', message: expect.stringContaining(`account "${name}" is not configured`) },
      ],
    });
  });

  test('no Alma client for such an account, and no budget for such an institution', () => {
    const alma = new AlmaAccess(config, logger);
    expect(() => alma.forAccount(name)).toThrow(new Error(`account ${name} is not configured`));
    expect(() => alma.budget(name)).toThrow(new Error(`institution ${name} is not configured`));
  });

  test('no staff alert is mailed for such an account', async () => {
    const sent: unknown[] = [];
    const mailer = { send: async (m: unknown) => void sent.push(m) } as unknown as Mailer;
    const { notifyStaff } = emailActivities({ config, mailer, logger });
    await notifyStaff({ account: name, orderId: 'O-1', workflowId: 'w', alert: 'STATUS_LATE', summary: 's' });
    expect(sent).toEqual([]);
  });

  test('an overlay for such an account has no MARC source (a non-retryable failure, not a crash)', async () => {
    const { overlayMarcFile } = overlayActivities({
      config,
      alma: new AlmaAccess(config, logger),
      logger,
      dataDir: '/nonexistent',
    });
    const ref = { account: name, kind: 'marc' as const, name: 'x.mrc', sha256: '0'.repeat(64) };
    await expect(new MockActivityEnvironment().run(overlayMarcFile, ref)).rejects.toMatchObject({
      type: 'NoSource',
      nonRetryable: true,
      message: `account ${name} has no MARC source`,
    });
  });
});
