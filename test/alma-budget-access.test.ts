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
import { MockActivityEnvironment } from '@temporalio/testing';
import { bibActivities } from '../src/activities/bib';
import { errorFromResponse } from '../src/alma/errors';
import { parseConfig } from '../src/config/load';
import { AlmaAccess, RATE_LIMITED_TRIES } from '../src/institution/alma-access';
import { createLogger } from '../src/logging';
import { fixturePath } from './harness/fixtures';
import { exampleConfigRaw } from './harness/system';

const PER_SECOND = readFileSync(fixturePath('alma', 'per-second-threshold.json'), 'utf8');
const logger = createLogger({ level: 'silent', pretty: false });

/** Answers by path; `refuse[path]` 429s are answered first, then the path's answer. */
async function gateway(answers: Record<string, unknown>, refuse: Record<string, number>) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '').replace(/^\/almaws\/v1/, '').split('?')[0]!;
    hits.push(p);
    if ((refuse[p] ?? 0) > 0) {
      refuse[p]!--;
      res.writeHead(429, { 'content-type': 'application/json' }).end(PER_SECOND);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-exl-api-remaining': '9000' });
    res.end(JSON.stringify(answers[p] ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/almaws/v1`;
  const access = new AlmaAccess(
    parseConfig(exampleConfigRaw(url, path.join(os.tmpdir(), 'rto-budget-access'))),
    logger,
  );
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
