/**
 * The follow-up Schedules on the real server: one EDI pick-up per account with an EDI source (every
 * `edi.every`), one MARC overlay per account with a MARC source (at `marc.at` in the institution's time zone,
 * overlap skip, the configured catch-up window); syncing again updates them to the configuration.
 */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { parseConfig } from '../src/config/load';
import type { ConfigFileInput } from '../src/config/schema';
import { schedulePlans, syncSchedules } from '../src/temporal/schedules';
import { exampleConfigRaw } from './harness/system';
import { testClient, uniqueQueue } from './harness/temporal';

jest.setTimeout(60_000);

let client: Client;
let close: () => Promise<void>;
const taskQueue = uniqueQueue('schedules');
const created = new Set<string>();

/** The example configuration, with times that tell the accounts apart. */
function rawConfig(): ConfigFileInput {
  const raw = exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-schedules-test');
  raw.institutions['01UNIV_INST']!.timeZone = 'America/New_York';
  raw.accounts['UNIV-MAIN']!.edi = { ...raw.accounts['UNIV-MAIN']!.edi, every: '15m' };
  raw.accounts['UNIV-MAIN']!.marc = { ...raw.accounts['UNIV-MAIN']!.marc, at: '02:30', catchupWindow: '6h' };
  raw.accounts['UNIV-LAW']!.edi = { ...raw.accounts['UNIV-LAW']!.edi, every: '1h' };
  raw.accounts['UNIV-LAW']!.marc = { ...raw.accounts['UNIV-LAW']!.marc, at: '23:05', catchupWindow: '90m' };
  return raw;
}

async function sync(raw: ConfigFileInput): Promise<string[]> {
  const ids = await syncSchedules(client, { config: parseConfig(raw), taskQueue });
  for (const id of ids) created.add(id);
  return ids;
}

const describeSchedule = (id: string) => client.schedule.getHandle(id).describe();

beforeAll(async () => {
  ({ client, close } = await testClient());
});

afterAll(async () => {
  if (client)
    await Promise.all(
      [...created].map((id) =>
        client.schedule
          .getHandle(id)
          .delete()
          .catch(() => undefined),
      ),
    );
  await close?.();
});

test('one EDI schedule and one overlay schedule per account with a source, as configured', async () => {
  const ids = await sync(rawConfig());
  expect(ids.sort()).toEqual(
    [
      `${taskQueue}:edi:UNIV-LAW`,
      `${taskQueue}:edi:UNIV-MAIN`,
      `${taskQueue}:overlay:UNIV-LAW`,
      `${taskQueue}:overlay:UNIV-MAIN`,
    ].sort(),
  );

  const edi = await describeSchedule(`${taskQueue}:edi:UNIV-MAIN`);
  expect(edi.spec.intervals?.map((i) => i.every)).toEqual([15 * 60_000]);
  expect(edi.spec.calendars ?? []).toEqual([]);
  expect(edi.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'ediPickupWorkflow',
    taskQueue,
    args: [{ account: 'UNIV-MAIN' }],
  });
  expect(edi.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(edi.state.paused).toBe(false);
  const lawEdi = await describeSchedule(`${taskQueue}:edi:UNIV-LAW`);
  expect(lawEdi.spec.intervals?.map((i) => i.every)).toEqual([60 * 60_000]);

  const overlay = await describeSchedule(`${taskQueue}:overlay:UNIV-MAIN`);
  expect(overlay.spec.timezone).toBe('America/New_York');
  expect(overlay.spec.calendars).toHaveLength(1);
  expect(overlay.spec.calendars![0]).toMatchObject({
    hour: [{ start: 2, end: 2, step: 1 }],
    minute: [{ start: 30, end: 30, step: 1 }],
    second: [{ start: 0, end: 0, step: 1 }],
  });
  expect(overlay.spec.intervals ?? []).toEqual([]);
  expect(overlay.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'overlayWorkflow',
    taskQueue,
    args: [{ account: 'UNIV-MAIN' }],
  });
  expect(overlay.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(overlay.policies.catchupWindow).toBe(6 * 3_600_000);
  const law = await describeSchedule(`${taskQueue}:overlay:UNIV-LAW`);
  expect(law.policies.catchupWindow).toBe(90 * 60_000);
  expect(law.spec.calendars![0]).toMatchObject({
    hour: [{ start: 23, end: 23, step: 1 }],
    minute: [{ start: 5, end: 5, step: 1 }],
  });

  // The next run is 02:30 New York time, whatever the server's zone.
  const next = overlay.info.nextActionTimes[0]!;
  const local = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'America/New_York',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(next);
  expect(local).toBe('02:30');
});

test('an account without a source gets no schedule of that kind', () => {
  const raw = rawConfig();
  delete (raw.accounts['UNIV-LAW']!.edi as { source?: unknown }).source;
  delete (raw.accounts['UNIV-LAW']!.marc as { source?: unknown }).source;
  const ids = schedulePlans(parseConfig(raw), taskQueue).map((p) => p.scheduleId);
  expect(ids.sort()).toEqual([`${taskQueue}:edi:UNIV-MAIN`, `${taskQueue}:overlay:UNIV-MAIN`].sort());
});

test('syncing again updates the schedules instead of failing; a new marc.at and edi.every take effect', async () => {
  const raw = rawConfig();
  const first = await sync(raw);
  const again = await sync(raw);
  expect(again.sort()).toEqual(first.sort());

  raw.accounts['UNIV-MAIN']!.marc!.at = '04:45';
  raw.accounts['UNIV-MAIN']!.edi!.every = '5m';
  raw.institutions['01UNIV_INST']!.timeZone = 'Europe/Paris';
  await sync(raw);
  const overlay = await describeSchedule(`${taskQueue}:overlay:UNIV-MAIN`);
  expect(overlay.spec.calendars).toHaveLength(1);
  expect(overlay.spec.calendars![0]).toMatchObject({
    hour: [{ start: 4, end: 4, step: 1 }],
    minute: [{ start: 45, end: 45, step: 1 }],
  });
  expect(overlay.spec.timezone).toBe('Europe/Paris');
  expect(overlay.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(overlay.policies.catchupWindow).toBe(6 * 3_600_000);
  const edi = await describeSchedule(`${taskQueue}:edi:UNIV-MAIN`);
  expect(edi.spec.intervals?.map((i) => i.every)).toEqual([5 * 60_000]);
  expect(edi.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  // Untouched accounts keep their settings.
  const law = await describeSchedule(`${taskQueue}:overlay:UNIV-LAW`);
  expect(law.spec.calendars![0]).toMatchObject({ hour: [{ start: 23, end: 23, step: 1 }] });
  expect(law.spec.timezone).toBe('Europe/Paris');
});

test('two deployments (task queues) in one namespace each start their own runs, at the same moment too', async () => {
  const other = uniqueQueue('schedules-b');
  const config = parseConfig(rawConfig());
  const [a, b] = await Promise.all([
    syncSchedules(client, { config, taskQueue }),
    syncSchedules(client, { config, taskQueue: other }),
  ]);
  for (const id of [...a, ...b]) created.add(id);
  const ids = [`${taskQueue}:edi:UNIV-MAIN`, `${other}:edi:UNIV-MAIN`];
  // Both run now (no worker polls these queues, so the runs simply wait there): the started workflows'
  // ids are the action's id plus the time, so equal action ids in one namespace would collide.
  await Promise.all(ids.map((id) => client.schedule.getHandle(id).trigger()));
  const started: string[] = [];
  for (const id of ids) {
    let actions: string[] = [];
    for (let i = 0; i < 50 && actions.length === 0; i++) {
      actions = (await describeSchedule(id)).info.recentActions.map((x) => x.action.workflow.workflowId);
      if (!actions.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(actions).toHaveLength(1);
    started.push(actions[0]!);
  }
  expect(new Set(started).size).toBe(2);
  await Promise.all(
    started.map((wf) =>
      client.workflow
        .getHandle(wf)
        .terminate('test done')
        .catch(() => undefined),
    ),
  );
});

test('a source removed from the configuration loses its schedule on the next sync', async () => {
  const raw = rawConfig();
  await sync(raw);
  await expect(describeSchedule(`${taskQueue}:overlay:UNIV-LAW`)).resolves.toBeDefined();
  delete raw.accounts['UNIV-LAW']!.marc!.source;
  const ids = await sync(raw);
  expect(ids).not.toContain(`${taskQueue}:overlay:UNIV-LAW`);
  await expect(describeSchedule(`${taskQueue}:overlay:UNIV-LAW`)).rejects.toThrow();
  await expect(describeSchedule(`${taskQueue}:edi:UNIV-LAW`)).resolves.toBeDefined();
});
