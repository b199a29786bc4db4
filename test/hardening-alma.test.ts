/**
 * Alma client hardening (issue 11, §9): error bodies are stripped of tags in linear time (300,000 `<` without
 * `>` once blocked the event loop for minutes), and answers are capped in size, counted after decompression,
 * reading stopped beyond the cap. Against bare HTTP servers on loopback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createAlmaClient, MAX_ANSWER_BYTES, MAX_BIB_ANSWER_BYTES } from '../src/alma/client';
import { AlmaError, parseErrorBody, stripTags } from '../src/alma/errors';

const KEY = 'hardening-SECRET-key-0123456789abcdef';
const MiB = 1024 * 1024;

describe('stripping tags from an error body', () => {
  /** A small deterministic generator (mulberry32): the same strings on every run. */
  function random(seed: number) {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('gives what the regular expression gave, on every kind of input', () => {
    const next = random(11);
    const alphabet = ['<', '>', 'a', ' ', '/', '\n'];
    for (let i = 0; i < 5000; i++) {
      const s = Array.from({ length: Math.floor(next() * 40) }, () => alphabet[Math.floor(next() * 6)]).join(
        '',
      );
      expect(stripTags(s)).toBe(s.replace(/<[^>]*>/g, ' '));
    }
    expect(stripTags('<html><body><h1>502 Bad Gateway</h1></body></html>')).toBe('   502 Bad Gateway   ');
  });

  it('reads 300,000 "<" without ">" at once (the regular expression took minutes), and 4 MiB of them', () => {
    const started = Date.now();
    expect(parseErrorBody('<'.repeat(300_000))).toEqual({ message: `${'<'.repeat(500)}…` });
    expect(parseErrorBody(`<p>Gateway</p>${'a<'.repeat(150_000)}`).message).toMatch(/^Gateway a<a<a</);
    // As much as a capped error answer can hold, broken XML all through: read as text, not parsed.
    expect(parseErrorBody('<'.repeat(4 * MiB)).message).toHaveLength(501);
    // Too long to parse, yet an envelope: its code read by its tags (as for a broken ROUTING_ERROR).
    expect(parseErrorBody(`<error><errorCode>E1</errorCode>${'<x>'.repeat(30_000)}</error>`)).toEqual({
      code: 'E1',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A foreign server on loopback; `closed` counts the connections it saw end (the client stopping reading). */
async function server(handler: Handler) {
  let closed = 0;
  const srv = http.createServer(handler);
  srv.on('connection', (s) => s.on('close', () => closed++));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  return {
    gateway: `http://127.0.0.1:${port}/almaws/v1`,
    closed: () => closed,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** Writes `chunk` forever, with back-pressure, until the client goes away. */
function endless(res: http.ServerResponse, chunk: Buffer, stats: { written: number }) {
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) stats.written += chunk.length;
    if (!res.destroyed) res.once('drain', pump);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

const bibJson = (anies: string) => JSON.stringify({ mms_id: '991234', title: 'Big', anies: [anies] });

async function failure(p: Promise<unknown>): Promise<AlmaError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof AlmaError)) throw new Error(`expected an AlmaError, got ${String(e)}`);
  return e;
}

describe('answer caps', () => {
  it('has 16 MiB for bibs and 4 MiB for the rest by default', () => {
    expect(MAX_BIB_ANSWER_BYTES).toBe(16 * MiB);
    expect(MAX_ANSWER_BYTES).toBe(4 * MiB);
  });

  it('stops reading an endless bib answer at the cap, with an error naming it', async () => {
    const stats = { written: 0 };
    const srv = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"mms_id":"991234","anies":["');
      endless(res, Buffer.alloc(64 * 1024, 'x'), stats);
    });
    const alma = createAlmaClient({ gateway: srv.gateway, apiKey: KEY, maxAnswerBytes: { bibs: 2 * MiB } });
    const err = await failure(alma.getBib('991234'));
    expect(err.message).toBe(
      'Alma GET /bibs/991234: the answer (HTTP 200) is over the 2 MiB cap for this call; reading stopped there',
    );
    expect(err).toMatchObject({ kind: 'server', status: 200, retryable: false, ambiguous: false });
    expect(err.message + JSON.stringify(err)).not.toContain(KEY);
    // The server sees the connection go; what it wrote is the cap plus what the socket buffers held.
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.closed()).toBe(1);
    expect(stats.written).toBeLessThan(64 * MiB);
    await srv.close();
  });

  it('counts after decompression: a small gzip that unpacks past the cap is refused', async () => {
    const body = gzipSync(bibJson('x'.repeat(20 * MiB)));
    expect(body.length).toBeLessThan(MiB);
    const srv = await server((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': body.length,
      });
      res.end(body);
    });
    const alma = createAlmaClient({ gateway: srv.gateway, apiKey: KEY });
    const err = await failure(alma.getBib('991234'));
    expect(err.message).toContain('over the 16 MiB cap');
    await srv.close();
  });

  it('refuses a declared length over the cap before reading, and caps the other calls at 4 MiB', async () => {
    let requests = 0;
    const srv = await server((req, res) => {
      requests++;
      if (req.url?.startsWith('/almaws/v1/bibs')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 150 * MiB });
        res.write('{'); // and nothing more: the client must not wait for the rest
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ number: 'POL-1', notes: 'n'.repeat(5 * MiB) }));
    });
    const alma = createAlmaClient({ gateway: srv.gateway, apiKey: KEY, timeoutMs: 60_000 });
    const started = Date.now();
    expect((await failure(alma.getBib('991234'))).message).toContain('over the 16 MiB cap');
    expect(Date.now() - started).toBeLessThan(5000);
    const pol = await failure(alma.getPoLine('POL-1'));
    expect(pol.message).toBe(
      'Alma GET /acq/po-lines/POL-1: the answer (HTTP 200) is over the 4 MiB cap for this call; reading stopped there',
    );
    expect(requests).toBe(2);
    await srv.close();
  });

  it('keeps the kind of an error answer whose body is over the cap; a write is ambiguous', async () => {
    const srv = await server((req, res) => {
      res.writeHead(req.method === 'PUT' ? 200 : 503, { 'content-type': 'text/html' });
      endless(res, Buffer.alloc(64 * 1024, '<'), { written: 0 });
    });
    const alma = createAlmaClient({ gateway: srv.gateway, apiKey: KEY, maxAnswerBytes: { bibs: MiB } });
    const get = await failure(alma.getBib('991234'));
    expect(get.message).toBe(
      'Alma GET /bibs/991234: HTTP 503 (its body is over the 1 MiB cap for this call; reading stopped there)',
    );
    expect(get).toMatchObject({ kind: 'server', status: 503, retryable: true });
    const put = await failure(alma.putBib('991234', '<record/>'));
    expect(put).toMatchObject({ kind: 'server', status: 200, retryable: false, ambiguous: true });
    await srv.close();
  });

  it('reads answers under the cap as before, compressed or not', async () => {
    const json = bibJson(`<record>${'y'.repeat(3 * MiB)}</record>`);
    const srv = await server((req, res) => {
      const gzip = req.headers['accept-encoding']?.includes('gzip') && req.url?.endsWith('/gz');
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(gzip ? gzipSync(json) : json);
    });
    const alma = createAlmaClient({ gateway: srv.gateway, apiKey: KEY });
    expect((await alma.getBib('plain')).marcXml).toHaveLength(3 * MiB + 17);
    expect((await alma.getBib('gz')).marcXml).toHaveLength(3 * MiB + 17);
    await srv.close();
  });
});
