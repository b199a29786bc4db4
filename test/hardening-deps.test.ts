/**
 * Dependencies against the advisories recorded by hand in docs/security-audit.md (the registry here refuses
 * `npm audit`): no copy of a recorded package in the lock file or in node_modules is inside a recorded range.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const AUDIT = readFileSync(path.join(ROOT, 'docs', 'security-audit.md'), 'utf8');

type Version = [number, number, number];

function parseVersion(v: string): Version {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  if (!m) throw new Error(`not a plain x.y.z version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** `<= 9.0.0`, `>= 9.1.0, < 10.0.9`: every comparator must hold. */
function inRange(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split(',').every((part) => {
    const m = /^\s*(<=|>=|<|>|=)\s*(\S+)\s*$/.exec(part);
    if (!m) throw new Error(`cannot read the range "${range}"`);
    const c = compare(v, parseVersion(m[2]!));
    switch (m[1]) {
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
      default:
        return c === 0;
    }
  });
}

/** The recorded advisories of one package: every table row of its section with a `range` in backticks. */
function advisories(pkg: string): { id: string; range: string }[] {
  const section = AUDIT.split(/^## /m).filter((s) => s.includes(`: ${pkg}`));
  const rows: { id: string; range: string }[] = [];
  for (const s of section)
    for (const line of s.split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      // | advisory | what | severity | affected | fixed in |
      const range = /^`([^`]+)`$/.exec(cells[4] ?? '')?.[1];
      if (line.startsWith('|') && range) rows.push({ id: cells[1]!, range });
    }
  return rows;
}

/** Every copy of the package the lock file installs (nested ones too), and the one node_modules holds. */
function installed(pkg: string): { where: string; version: string }[] {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const copies = Object.entries(lock.packages)
    .filter(([where]) => where === `node_modules/${pkg}` || where.endsWith(`/node_modules/${pkg}`))
    .map(([where, p]) => ({ where: `package-lock.json ${where}`, version: p.version ?? '' }));
  const local = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as {
    version: string;
  };
  return [...copies, { where: `node_modules/${pkg}`, version: local.version }];
}

describe('the range reader', () => {
  it('reads single and combined comparators', () => {
    expect(inRange('7.0.13', '<= 8.0.4')).toBe(true);
    expect(inRange('8.0.5', '<= 8.0.4')).toBe(false);
    expect(inRange('9.1.1', '>= 9.1.0, < 10.0.9')).toBe(true);
    expect(inRange('10.0.9', '>= 9.1.0, < 10.0.9')).toBe(false);
    expect(inRange('9.0.6', '>= 9.1.0, < 10.0.9')).toBe(false);
  });
});

describe('nodemailer', () => {
  const recorded = advisories('nodemailer');

  it('has its advisories recorded in docs/security-audit.md', () => {
    expect(recorded.length).toBeGreaterThanOrEqual(10);
    expect(recorded.map((a) => a.id)).toEqual(
      expect.arrayContaining(['GHSA-p6gq-j5cr-w38f', 'GHSA-2x7j-588g-ccc2', 'GHSA-v53p-9fqp-m79j']),
    );
  });

  it('is installed (every copy) outside every recorded range', () => {
    const copies = installed('nodemailer');
    expect(copies.length).toBeGreaterThanOrEqual(2);
    const inside = copies.flatMap((c) =>
      recorded
        .filter((a) => inRange(c.version, a.range))
        .map((a) => `${c.where} ${c.version} is inside ${a.id} (${a.range})`),
    );
    expect(inside).toEqual([]);
  });
});

describe.each([
  ['fastify', ['GHSA-jx2c-rxcm-jvmq', 'GHSA-444r-cwp2-x5xf', 'GHSA-573f-x89g-hqp9']],
  ['fast-uri', ['GHSA-q3j6-qgpj-74h6', 'GHSA-v39h-62p7-jpjc']],
])('%s (the HTTP intake, issue 12)', (pkg, ids) => {
  const recorded = advisories(pkg);

  it('has its advisories recorded in docs/security-audit.md', () => {
    expect(recorded.map((a) => a.id)).toEqual(expect.arrayContaining(ids));
  });

  it('is installed (every copy) outside every recorded range', () => {
    const inside = installed(pkg).flatMap((c) =>
      recorded
        .filter((a) => inRange(c.version, a.range))
        .map((a) => `${c.where} ${c.version} is inside ${a.id} (${a.range})`),
    );
    expect(inside).toEqual([]);
  });
});
