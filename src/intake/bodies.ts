/**
 * What the HTTP intake reads from a request besides the order: the raw body (with its size cap and deadline),
 * a cancel request's body, and the bearer token. Errors are `HttpError`s carrying the status and the JSON
 * answer; the server turns them into the response.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Config } from '../config/schema';
import { hasNoteControlCharacter, type Problem } from '../contract/order';
import { cancellationReasons } from '../client/orders';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** The body, refused past `limit` bytes (413) or when it has not all arrived within `timeoutMs` (408). */
export function readBody(
  stream: Readable,
  headers: IncomingHttpHeaders,
  limit: number,
  timeoutMs: number,
): Promise<Buffer> {
  const declared = Number(headers['content-length'] ?? 0);
  if (declared > limit)
    return Promise.reject(new HttpError(413, `the body is ${declared} bytes; at most ${limit} are accepted`));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (settle: () => void) => {
      clearTimeout(timer);
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      // Stop reading: the rest of the body (if any) is not wanted; the answer closes the connection.
      stream.pause();
      settle();
    };
    const timer = setTimeout(
      () => done(() => reject(new HttpError(408, `the body did not arrive within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(() => reject(new HttpError(413, `the body is over ${limit} bytes`)));
      else chunks.push(chunk);
    };
    const onEnd = () => done(() => resolve(Buffer.concat(chunks)));
    const onError = (e: Error) => done(() => reject(e));
    stream.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/** Whether the request carries the intake's bearer token (compared in constant time). */
export function authorised(headers: IncomingHttpHeaders, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One path segment, percent-decoded; malformed encoding (e.g. `%E0%A4%A`) is the client's fault. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    const shown = segment.length > 100 ? `${segment.slice(0, 100)}…` : segment;
    throw new HttpError(400, `the path segment "${shown}" is not valid percent-encoding (UTF-8)`);
  }
}

export const MAX_CANCEL_REASON = 64;
export const MAX_CANCEL_COMMENT = 1000;
/** Largest cancel request body read. */
export const MAX_CANCEL_BYTES = 8 * 1024;
export const REASON_FORM = /^[A-Za-z0-9_.-]+$/;

const CANCEL_FIELDS = ['reason', 'comment'];

/**
 * A cancel request's body: empty, or a JSON object with an optional `reason` (a code such as
 * LIBRARY_CANCELLED) and `comment` (free text, line breaks allowed). Anything else is refused, not dropped:
 * an unknown field (a misspelt `reason`) is a 422 naming it, and nothing is cancelled.
 */
export function parseCancelBody(body: Buffer | undefined): { reason?: string; comment?: string } {
  if (!body?.length) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString());
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'the body must be a JSON object');
  const { reason, comment } = value as { reason?: unknown; comment?: unknown };
  const problems: Problem[] = Object.keys(value)
    .filter((k) => !CANCEL_FIELDS.includes(k))
    .map((k) => ({ path: k, message: `${k} is not a known field (known: ${CANCEL_FIELDS.join(', ')})` }));
  if (reason !== undefined) {
    if (typeof reason !== 'string') problems.push({ path: 'reason', message: 'must be a string' });
    else if (reason.length > MAX_CANCEL_REASON)
      problems.push({ path: 'reason', message: `at most ${MAX_CANCEL_REASON} characters` });
    else if (!REASON_FORM.test(reason))
      problems.push({
        path: 'reason',
        message: 'may contain only letters A-Z a-z, digits, ".", "_" and "-"',
      });
  }
  if (comment !== undefined) {
    if (typeof comment !== 'string') problems.push({ path: 'comment', message: 'must be a string' });
    else {
      if (comment.length > MAX_CANCEL_COMMENT)
        problems.push({ path: 'comment', message: `at most ${MAX_CANCEL_COMMENT} characters` });
      if (hasNoteControlCharacter(comment))
        problems.push({
          path: 'comment',
          message: 'contains a control character (only line breaks are allowed)',
        });
    }
  }
  if (problems.length)
    throw new HttpError(422, 'the cancel request is refused', { outcome: 'refused', problems });
  return {
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof comment === 'string' ? { comment } : {}),
  };
}

/**
 * A reason must be one the account knows (its configured cancellation reason), as `rto order cancel` checks:
 * an unknown one would otherwise be recorded as if it meant something. Case is not significant.
 */
export function checkReason(
  config: Pick<Config, 'accounts'> | undefined,
  account: string,
  reason: string | undefined,
): void {
  if (!config || reason === undefined) return;
  const known = cancellationReasons(config, account);
  if (!known || known.some((k) => k.toUpperCase() === reason.toUpperCase())) return;
  throw new HttpError(422, 'the cancel request is refused', {
    outcome: 'refused',
    problems: [
      { path: 'reason', message: `${reason} is not a known reason code (known: ${known.join(', ')})` },
    ],
  });
}
