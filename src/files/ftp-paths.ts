/**
 * Path handling for the built-in FTP server: client paths are virtual (rooted at "/"), resolved against the
 * session's directory, and mapped inside the served root. Anything that would leave the root is refused.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** The segments of `arg` resolved against `cwd`, or null when it escapes "/" or holds NUL or a backslash. */
export function resolveVirtual(cwd: string, arg: string): string[] | null {
  if (arg.includes('\u0000') || arg.includes('\\')) return null;
  const parts = arg.startsWith('/') ? [] : cwd.split('/').filter(Boolean);
  for (const seg of arg.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (!parts.length) return null;
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return parts;
}

export function virtualPath(parts: string[]): string {
  return '/' + parts.join('/');
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root + path.sep);
}

/**
 * The real path for virtual segments under `realRoot` (itself already a realpath). Symbolic links are followed
 * only as far as they stay inside the root; for a path that does not exist yet its parent is checked instead.
 * Returns null when the path (or its parent) leads outside.
 */
export async function realPathInside(realRoot: string, parts: string[]): Promise<string | null> {
  const full = path.join(realRoot, ...parts);
  if (!inside(realRoot, full)) return null;
  try {
    return inside(realRoot, await realpath(full)) ? full : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return null;
    try {
      return inside(realRoot, await realpath(path.dirname(full))) ? full : null;
    } catch {
      return full; // the parent does not exist either: the operation itself will fail with 550
    }
  }
}
