/**
 * Alma calls through the institution's budget, against a small HTTP server standing in for Alma's gateway:
 * a 429 (Alma's real PER_SECOND_THRESHOLD body) slows the institution down and the refused call alone is tried
 * again, so a step that needs two calls keeps the first one's answer; which 5xx answers are ambiguous.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtempSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { bibActivities } from '../src/activities/bib';
import { errorFromResponse } from '../src/alma/errors';
import { parseConfig } from '../src/config/load';
import { AlmaAccess, RATE_LIMITED_TRIES } from '../src/institution/alma-access';
import { createLogger, type Logger } from '../src/logging';
import { createMailer, startMailCatcher, type Mailer } from '../src/mail';
import { FailureType } from '../src/order/failures';
import { fixturePath } from './harness/fixtures';
import { exampleConfigRaw } from './harness/system';

const PER_SECOND = readFileSync(fixturePath('alma', 'per-second-threshold.json'), 'utf8');
const logger = createLogger({ level: 'silent', pretty: false });

/**
 * Answers by path; `refuse[path]` 429s are answered first, then the path's answer. `remaining` is the
 * X-Exl-Api-Remaining every answer carries; `configure` edits the configuration, `mailer` goes to AlmaAccess.
 */
async function gateway(
  answers: Record<string, unknown>,
  refuse: Record<string, number>,
  o: {
    remaining?: () => number;
    configure?: (raw: ReturnType<typeof exampleConfigRaw>) => void;
    mailer?: Mailer;
    logger?: Logger;
  } = {},
) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '').replace(/^\/almaws\/v1/, '').split('?')[0]!;
    hits.push(p);
    if ((refuse[p] ?? 0) > 0) {
      refuse[p]!--;
      res.writeHead(429, { 'content-type': 'application/json' }).end(PER_SECOND);
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-exl-api-remaining': String(o.remaining?.() ?? 9000),
    });
    res.end(JSON.stringify(answers[p] ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/almaws/v1`;
  const raw = exampleConfigRaw(url, path.join(os.tmpdir(), 'rto-budget-access'));
  o.configure?.(raw);
  const access = new AlmaAccess(parseConfig(raw), o.logger ?? logger, o.mailer ? { mailer: o.mailer } : {});
  return { hits, access, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const poLine = {
  number: 'POL-1',
  status: { value: 'ACTIVE' },
  resource_metadata: { mms_id: { value: '99123' }, title: 'T' },
};
const bib = { mms_id: '99123', title: 'T', anies: ['<record/>'] };

test('a 429 on the second call of the bib poll: only that call is tried again, the first answer is kept', async () => {
  const g = await gateway({ '/acq/po-lines/POL-1': poLine, '/bibs/99123': bib }, { '/bibs/99123': 1 });
  try {
    const env = new MockActivityEnvironment();
    const result = await env.run(bibActivities({ alma: g.access }).awaitBriefBib, {
      account: 'UNIV-MAIN',
      poLine: 'POL-1',
    });
    expect(result).toMatchObject({ mmsId: '99123', status: 'ACTIVE', inReview: false });
    expect(g.hits).toEqual(['/acq/po-lines/POL-1', '/bibs/99123', '/bibs/99123']);
    const budget = g.access.budget('01UNIV_INST');
    expect(budget.counters.rateLimited).toBe(1);
    // The institution's pace was halved (and comes back gradually), not paused for a fixed second.
    expect(budget.rate).toBeLessThan(budget['opts'].perSecond);
  } finally {
    await g.close();
  }
});

test('429s that do not stop: the call gives up after a few tries, to the activity’s own back-off', async () => {
  const g = await gateway({ '/acq/po-lines/POL-1': poLine }, { '/acq/po-lines/POL-1': 100 });
  try {
    const { client } = g.access.forAccount('UNIV-MAIN');
    await expect(client.getPoLine('POL-1')).rejects.toMatchObject({
      kind: 'rate-limited',
      code: 'PER_SECOND_THRESHOLD',
    });
    expect(g.hits).toHaveLength(RATE_LIMITED_TRIES);
  } finally {
    await g.close();
  }
});

describe('which 5xx answers may have been processed', () => {
  test('a plain 5xx (HTML, text, empty, Alma JSON): ambiguous, a POST must look before posting again', () => {
    for (const [status, body] of [
      [500, '{"errorsExist":true,"errorList":{"error":[{"errorCode":"INTERNAL_SERVER_ERROR"}]}}'],
      [502, 'Bad Gateway'],
      [503, ''],
      [504, '<html><body>Gateway Timeout</body></html>'],
    ] as const)
      expect(errorFromResponse('POST', '/acq/po-lines', status, body)).toMatchObject({
        kind: 'server',
        ambiguous: true,
      });
  });

  test('a 503 ROUTING_ERROR (the gateway could not pass it on): not processed, not ambiguous', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true</errorsExist><errorList><error><errorCode>ROUTING_ERROR</errorCode><errorMessage>Routing error</errorMessage></error></errorList></web_service_result>';
    expect(errorFromResponse('POST', '/acq/po-lines', 503, xml)).toMatchObject({
      kind: 'server',
      code: 'ROUTING_ERROR',
      retryable: true,
      ambiguous: false,
    });
    // The same code in a body we cannot read (an unescaped & makes the XML invalid) proves nothing: ambiguous.
    expect(
      errorFromResponse('POST', '/acq/po-lines', 503, xml.replace('Routing error', 'Routing & error')),
    ).toMatchObject({ ambiguous: true });
  });
});

describe('the floors, read from X-Exl-Api-Remaining in the answers', () => {
  test('low: the bib poll is parked as budget spent, ordering goes on, staff hear once (log and mail), never the key', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const catcher = await startMailCatcher({
      port: 0,
      dir: mkdtempSync(path.join(os.tmpdir(), 'rto-budget-mail-')),
    });
    const mailer = createMailer({ host: '127.0.0.1', port: catcher.port });
    let remaining = 50_000;
    const g = await gateway(
      {
        '/acq/po-lines/POL-1': poLine,
        '/bibs/99123': bib,
        '/acq/po-lines': { po_line: [], total_record_count: 0 },
      },
      {},
      {
        remaining: () => remaining,
        configure: (raw) => {
          raw.institutions['01UNIV_INST']!.apiBudget = { daily: 100_000, deferBelow: 0.1, orderBelow: 0.02 };
        },
        mailer,
        logger: pino({ level: 'warn' }, sink),
      },
    );
    try {
      const env = new MockActivityEnvironment();
      const poll = bibActivities({ alma: g.access }).awaitBriefBib;
      const input = { account: 'UNIV-MAIN', poLine: 'POL-1' };
      await expect(env.run(poll, input)).resolves.toMatchObject({ mmsId: '99123' });
      remaining = 9_000; // other applications used the day up: the next answer says so
      const { client } = g.access.forAccount('UNIV-MAIN'); // ordering (the default purpose)
      await client.searchPoLines('isbn~9780000000001');
      const before = g.hits.length;
      // The poll is not sent: it fails as a spent budget does, which the workflow parks (no BIB_LATE).
      const failure = await env.run(poll, input).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: FailureType.AlmaBudgetSpent, nonRetryable: true });
      const retryAt = (failure as ApplicationFailure).details?.[0] as { retryAt: number };
      expect(retryAt.retryAt).toBe(g.access.budget('01UNIV_INST').nextReset());
      expect(g.hits).toHaveLength(before);
      // Ordering goes on below the first floor, and stops below the second.
      await client.searchPoLines('isbn~9780000000002');
      expect(g.hits).toHaveLength(before + 1);
      remaining = 1_500;
      await client.searchPoLines('isbn~9780000000003');
      await expect(client.searchPoLines('isbn~9780000000004')).rejects.toMatchObject({
        name: 'DailyBudgetExhausted',
        reason: 'reserved',
      });
      expect(g.hits).toHaveLength(before + 2);
      // One warning per floor, with the institution and the figures; the key is nowhere.
      const warned = lines.filter((l) => l.floor);
      expect(warned.map((l) => [l.institution, l.floor, l.remaining, l.floorCalls, l.daily])).toEqual([
        ['01UNIV_INST', 'deferrable', 9_000, 10_000, 100_000],
        ['01UNIV_INST', 'order', 1_500, 2_000, 100_000],
      ]);
      expect(JSON.stringify(lines)).not.toContain('sandbox-key');
      let mails: Awaited<ReturnType<typeof catcher.messages>> = [];
      for (let i = 0; i < 100 && mails.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
        mails = await catcher.messages();
      }
      expect(mails.map((m) => m.subject)).toEqual([
        '[oasis-alma-rto] Alma API budget of 01UNIV_INST is low',
        '[oasis-alma-rto] Alma API budget of 01UNIV_INST is low',
      ]);
      expect(mails[0]!.envelopeTo).toEqual(expect.arrayContaining(['acquisitions@univ.example.edu']));
      expect(mails.map((m) => m.raw).join('')).not.toContain('sandbox-key');
    } finally {
      await g.close();
      mailer.close();
      await catcher.close();
    }
  });
});
