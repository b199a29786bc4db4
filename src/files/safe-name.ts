/**
 * Vendor file names come from someone else's server: they are checked before use as remote names and never
 * used as local paths without being rewritten.
 */
import path from 'node:path';

/** Why a remote name is not used, or null when it is an ordinary file name. */
export function remoteNameProblem(name: string): string | null {
  if (name === '') return 'empty name';
  if (name.includes('\u0000')) return 'contains NUL';
  if (/[\r\n]/.test(name)) return 'contains a line break';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  if (name.includes('..')) return 'contains ".."';
  if (name === '.') return 'is "."';
  if (Buffer.byteLength(name, 'utf8') > 255) return 'longer than 255 bytes';
  return null;
}

/**
 * A hidden name (".profile", the built-in FTP server's ".rto-upload-….part" while an upload runs): not a
 * vendor file, or not one yet, so listings leave it out without reporting it.
 */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

/** A remote name refused by a store: the raw name (for the report) and why. */
export interface RejectedName {
  name: string;
  reason: string;
}

export class UnsafeNameError extends Error {
  override name = 'UnsafeNameError';
}

/** Throws unless `name` is a plain file name (what download/archive accept). */
export function assertSafeRemoteName(name: string, what = 'file name'): string {
  const problem = remoteNameProblem(name);
  if (problem)
    throw new UnsafeNameError(`refusing the ${what} ${JSON.stringify(name.slice(0, 200))}: ${problem}`);
  return name;
}

const MAX_LOCAL_NAME = 120;

/**
 * A local file name derived from a remote one: directories and ".." dropped, control and shell-special
 * characters replaced, at most 120 characters with the extension kept, never empty, never hidden.
 */
export function safeLocalName(remoteName: string): string {
  const base = remoteName.split(/[/\\]/).pop() ?? '';
  let name = base
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g, '')
    .replace(/[^\p{L}\p{N}._+-]+/gu, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+/, '')
    .replace(/[._]+$/, '');
  if (!name) name = 'file';
  if (name.length > MAX_LOCAL_NAME) {
    const ext = /\.[\p{L}\p{N}]{1,10}$/u.exec(name)?.[0] ?? '';
    name = name.slice(0, MAX_LOCAL_NAME - ext.length) + ext;
  }
  return name;
}

/** `dir/name`, or an error if the result would not be a direct child of `dir` (the last line of defence). */
export function resolveInside(dir: string, name: string): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, name);
  if (path.dirname(full) !== root || path.basename(full) !== name) {
    throw new UnsafeNameError(`refusing to write ${JSON.stringify(name)} outside ${root}`);
  }
  return full;
}

/** Where a remote file may be saved locally: `dir/safeLocalName(remoteName)`, checked to stay inside `dir`. */
export function localPathFor(dir: string, remoteName: string): string {
  return resolveInside(dir, safeLocalName(remoteName));
}
