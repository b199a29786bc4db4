/**
 * Vendor files into the worker: each file is downloaded under a content-addressed name (its SHA-256, never the
 * remote name), so a re-sent file under a new name is recognised, and archived on the server under
 * `<sha256 prefix>-<name>`, so the archive itself remembers which contents were processed. Files that could not
 * be read go the same way into `rejected/`, so the server also remembers which contents were refused.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FileSource } from '../config/schema';
import { REJECTED_DIR, openFileStore, type FileStore } from '../files';
import type { Logger } from '../logging';

export const HASH_PREFIX = 16;

/**
 * The largest vendor file taken (200 MB): EDI and MARC files are far smaller, so anything bigger is a mistake
 * or an attack on the disk. Bigger listed files are refused unread; a download that grows past it is stopped.
 */
export const MAX_VENDOR_FILE_BYTES = 200 * 1024 * 1024;

function tooLargeReason(size: number, maxBytes: number): string {
  return `larger than ${maxBytes} bytes (${size} bytes listed): not downloaded`;
}

export interface InboxFile {
  name: string;
  sha256: string;
  size: number;
  /** The contents were processed before (an archived file has the same hash). */
  duplicateOf?: string;
  /** The contents were refused before as unreadable (a file in `rejected/` has the same hash): its name there. */
  rejectedAs?: string;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The longest file name servers take (bytes of UTF-8). */
const MAX_NAME_BYTES = 255;

/**
 * The name a file gets in the server's archive (or rejected) folder: `<sha256 prefix>-<name>`, or, for the
 * `n`th name tried when that one is taken, `<sha256 prefix>.<n>-<name>`. Always at most 255 bytes: a long name
 * is shortened in its middle, keeping its extension (a 250-byte vendor name must not fail the move).
 */
export function archivedName(sha256: string, name: string, n = 0): string {
  const prefix = `${sha256.slice(0, HASH_PREFIX)}${n > 0 ? `.${n}` : ''}-`;
  const room = MAX_NAME_BYTES - Buffer.byteLength(prefix);
  return prefix + fitBytes(name, room);
}

/** `name` cut to at most `max` UTF-8 bytes, its extension (up to 16 characters) kept, never inside a character. */
function fitBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const ext = /\.[^.]{1,16}$/.exec(name)?.[0] ?? '';
  const marker = '~';
  let head = '';
  for (const ch of name.slice(0, name.length - ext.length)) {
    if (Buffer.byteLength(head + ch + marker + ext) > max) break;
    head += ch;
  }
  return head + marker + ext;
}

export function localCopy(dataDir: string, account: string, kind: string, sha256: string): string {
  return path.join(dataDir, 'inbox', account, kind, sha256);
}

export async function withStore<T>(
  source: FileSource,
  logger: Logger,
  fn: (store: FileStore) => Promise<T>,
): Promise<T> {
  const store = openFileStore(source, logger);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Downloads a file into the content-addressed inbox and returns its hash (verifying `expected` if given).
 * A file growing past `maxBytes` is cut off and fails.
 */
export async function fetchToInbox(
  store: FileStore,
  dataDir: string,
  account: string,
  kind: string,
  name: string,
  expected?: string,
  maxBytes = MAX_VENDOR_FILE_BYTES,
): Promise<{ sha256: string; file: string }> {
  if (expected) {
    const known = localCopy(dataDir, account, kind, expected);
    if (existsSync(known)) return { sha256: expected, file: known };
  }
  const dir = path.join(dataDir, 'inbox', account, kind);
  mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.download-${process.pid}-${Date.now()}`);
  try {
    await store.download(name, tmp, { maxBytes });
    // A store that ignores the limit is still held to it.
    const size = statSync(tmp).size;
    if (size > maxBytes) throw new Error(`the file ${name} is larger than ${maxBytes} bytes (${size})`);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const sha256 = await sha256File(tmp);
  if (expected && sha256 !== expected) {
    rmSync(tmp, { force: true });
    throw new Error(`the file ${name} changed on the server since it was listed (hash differs)`);
  }
  const file = localCopy(dataDir, account, kind, sha256);
  renameSync(tmp, file);
  return { sha256, file };
}

/**
 * Lists the new files of a folder, downloading each to learn its hash; marks contents already archived, and
 * (with `withRejected`) contents already refused as unreadable. Unsafe names and files listed larger than
 * `maxBytes` are returned in `rejected`, not downloaded.
 */
export async function collect(
  store: FileStore,
  dataDir: string,
  account: string,
  kind: string,
  pattern?: RegExp,
  maxBytes = MAX_VENDOR_FILE_BYTES,
  withRejected = false,
): Promise<{ files: InboxFile[]; rejected: { name: string; reason: string }[] }> {
  const listing = await store.list();
  const archived = await store.listArchive();
  const byHash = new Map(archived.map((a) => [a.slice(0, HASH_PREFIX), a] as const));
  const refused = withRejected ? await store.listArchive(REJECTED_DIR) : [];
  const refusedByHash = new Map(refused.map((a) => [a.slice(0, HASH_PREFIX), a] as const));
  const files: InboxFile[] = [];
  const rejected = listing.rejected.map((r) => ({ name: r.name, reason: r.reason }));
  for (const f of listing) {
    if (pattern && !pattern.test(f.name)) continue;
    if (f.size > maxBytes) {
      rejected.push({ name: f.name, reason: tooLargeReason(f.size, maxBytes) });
      continue;
    }
    const { sha256 } = await fetchToInbox(store, dataDir, account, kind, f.name, undefined, maxBytes);
    const dup = byHash.get(sha256.slice(0, HASH_PREFIX));
    const refusedAs = dup ? undefined : refusedByHash.get(sha256.slice(0, HASH_PREFIX));
    files.push({
      name: f.name,
      sha256,
      size: f.size,
      ...(dup ? { duplicateOf: dup } : {}),
      ...(refusedAs ? { rejectedAs: refusedAs } : {}),
    });
  }
  return { files, rejected };
}
