/** Directory listings in the two formats FTP clients parse: Unix `ls -l` (LIST) and RFC 3659 facts (MLSD). */
import type { Stats } from 'node:fs';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** RFC 3659 time-val in UTC: YYYYMMDDHHMMSS. */
export function ftpTime(d: Date): string {
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`
  );
}

export function listLine(name: string, st: Stats, now = Date.now()): string {
  const d = st.mtime;
  const recent = now - d.getTime() < 180 * 86400_000 && d.getTime() <= now + 3600_000;
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${
    recent ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : ` ${d.getUTCFullYear()}`
  }`;
  const mode = st.isDirectory() ? 'drwxr-xr-x' : '-rw-r--r--';
  return `${mode} 1 ftp ftp ${String(st.size).padStart(12)} ${when} ${name}`;
}

export function mlsxFacts(st: Stats): string {
  return st.isDirectory()
    ? `type=dir;modify=${ftpTime(st.mtime)};perm=elcmp;`
    : `type=file;size=${st.size};modify=${ftpTime(st.mtime)};perm=rdfw;`;
}
