/**
 * `rto marc read FILE [--json] [--encoding auto|utf8|marc8]` as operators and outside checks run it: the real
 * command line in a child process, in an empty directory with no configuration and no Temporal (it touches
 * nothing).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixturePath } from './harness/fixtures';

const RTO = path.join(__dirname, '..', 'bin', 'rto.js');
let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'rto-marc-read-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function rto(...args: string[]) {
  const r = spawnSync(process.execPath, [RTO, 'marc', ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RTO_CONFIG: '/nonexistent.json' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const marc = (...p: string[]) => fixturePath('marc', ...p);
const lines = (text: string) => text.split('\n').filter(Boolean);

test('MARC-8 read as MARC-in-JSON, one line per record, in NFC, and the same as yaz reads it: exit 0', () => {
  const r = rto('read', marc('evergreen', 'hebrew.marc'), '--json');
  expect(r.code).toBe(0);
  const records = lines(r.stdout).map(
    (l) => JSON.parse(l) as { leader: string; fields: Record<string, unknown>[] },
  );
  expect(records).toHaveLength(20);
  expect(Object.keys(records[0]!)).toEqual(['leader', 'fields']);
  expect(records[0]!.fields[0]).toEqual({ '001': '13810341' });
  const f245 = records[0]!.fields.find((f) => '245' in f)!['245'] as Record<string, unknown>;
  expect(Object.keys(f245)).toEqual(['ind1', 'ind2', 'subfields']);
  expect(f245).toMatchObject({
    ind1: '1',
    ind2: '0',
    subfields: expect.arrayContaining([{ a: 'La-Torah vela-moʻadim :' }]),
  });
  expect(r.stdout).toBe(r.stdout.normalize('NFC'));
  // The Hebrew 880 of record 1, in Hebrew letters.
  expect(JSON.stringify(records[0])).toContain('ה');
  // A stray DELETE in record 18 is dropped, with a warning on stderr.
  expect(r.stderr).toBe(
    'record 18: warning: field 880: byte 7F (DELETE) is not a MARC-8 character; dropped\n',
  );
});

test('a readable listing, every line terminal-safe: records, fields, warnings and a summary', () => {
  const r = rto('read', marc('evergreen', 'sample_acq_order.mrc'));
  expect(r.code).toBe(0);
  const out = lines(r.stdout);
  expect(out[0]).toBe('record 1 at byte 0, UTF-8: leader 01056pam a22003374a 4500');
  expect(out).toContain('  245 10 $a How do we know the size of the solar system / $c Isaac Turiel.');
  expect(out).toContain('  970    $p 5.99 $f JUV $o BR1 $q 1');
  expect(out).toContain('  warning: field 970: "\\\\" between the indicators and the first subfield dropped');
  expect(out.at(-1)).toBe(
    `${marc('evergreen', 'sample_acq_order.mrc')}: ISO 2709, 10 record(s): 10 read (0 MARC-8, 10 UTF-8), 9 with warnings, 0 not read`,
  );
});

test('escape sequences and control characters in records never reach the terminal raw', () => {
  const file = path.join(cwd, 'escapes.mrc');
  const data = Buffer.from('10\x1fa\x1b]0;pwned\x07Title\x1e', 'latin1');
  const base = 24 + 2 * 12 + 1;
  const body = Buffer.concat([Buffer.from('1\x1e'), data]);
  const dir = `001000200000245${String(data.length).padStart(4, '0')}00002`;
  const leader = `${String(base + body.length + 1).padStart(5, '0')}nam  22${String(base).padStart(5, '0')}   4500`;
  writeFileSync(
    file,
    Buffer.concat([Buffer.from(leader + dir + '\x1e', 'latin1'), body, Buffer.from([0x1d])]),
  );
  const r = rto('read', file);
  expect(r.code).toBe(0);
  // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
  expect(r.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  expect(r.stdout).toContain('warning: field 245: ESC followed by "]0;" is not a MARC-8 escape sequence');
});

test('some records not read: exit 1, the others still listed, each unreadable one with its reason', () => {
  const r = rto('read', marc('pymarc', 'bad_records.mrc'), '--json');
  expect(r.code).toBe(1);
  const out = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(out).toHaveLength(8);
  expect(out.map((o) => ('unreadable' in o ? `x${String(o.index)}` : 'ok'))).toEqual([
    'ok',
    'x2',
    'x3',
    'ok',
    'x5',
    'x6',
    'ok',
    'ok',
  ]);
  expect(out[1]).toEqual({
    unreadable: 'record 2 has a bad base address of data in its leader ("00127     2299937   4500")',
    index: 2,
  });
  const text = rto('read', marc('ruby-marc', 'three-records-second-bad.xml'));
  expect(text.code).toBe(1);
  expect(lines(text.stdout).filter((l) => !l.startsWith('  '))).toEqual([
    'record 1 at character 270: leader      njm a22     uu 4500',
    'record 2 at character 2778: NOT READ: record 2: a character XML does not allow (72:29: disallowed character)',
    'record 3 at character 5363: leader      njm a22     uu 4500',
    `${marc('ruby-marc', 'three-records-second-bad.xml')}: MARCXML, 3 record(s): 2 read, 0 with warnings, 1 not read`,
  ]);
});

test('--encoding marc8 reads MARC-8 under leader/09 a, which auto refuses with that advice', () => {
  const file = marc('ruby-marc', 'marc8_accented_chars.marc');
  const auto = rto('read', file, '--json');
  expect(auto.code).toBe(1);
  expect(JSON.parse(auto.stdout)).toMatchObject({
    unreadable: expect.stringContaining('read it with --encoding marc8'),
  });
  const forced = rto('read', file, '--json', '--encoding', 'marc8');
  expect(forced.code).toBe(0);
  expect(forced.stdout).toContain('"Serreau, Geneviève."');
  expect(forced.stderr).toBe('record 1: warning: leader/09 says UTF-8 (a); read as MARC-8 as asked\n');
  // A UTF-8 record under a blank leader/09 is read as UTF-8 (not double-encoded), with a warning.
  const blank = rto('read', marc('pymarc', 'utf8_without_leader_flag.dat'), '--json');
  expect(blank.code).toBe(0);
  expect(blank.stderr).toMatch(/leader\/09 is blank \(MARC-8\) but the record is valid UTF-8/);
  expect(JSON.parse(blank.stdout)).toEqual(
    JSON.parse(rto('read', marc('pymarc', 'utf8_with_leader_flag.dat'), '--json').stdout),
  );
});

test('a file that is not MARC: exit 2; a file that is not there or a wrong option: exit 1 or 2 with the usage', () => {
  const notMarc = rto('read', fixturePath('README.md'));
  expect(notMarc.code).toBe(2);
  expect(notMarc.stderr).toMatch(
    /README\.md is not MARC: neither ISO 2709 \(no leader at its start: "# Test fixtures/,
  );
  expect(notMarc.stdout).toBe('');
  const empty = path.join(cwd, 'empty.mrc');
  writeFileSync(empty, '');
  expect(rto('read', empty).code).toBe(2);
  const xml = path.join(cwd, 'other.xml');
  writeFileSync(xml, '<?xml version="1.0"?><invoice><total>1</total></invoice>');
  expect(rto('read', xml)).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('an XML document with no MARC record element'),
  });
  expect(rto('read', path.join(cwd, 'missing.mrc'))).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('ENOENT'),
  });
  expect(rto('read', empty, '--encoding', 'latin1')).toMatchObject({
    code: 2,
    stderr: 'unknown encoding "latin1"; known encodings: auto, utf8, marc8\n',
  });
  expect(rto('read')).toMatchObject({ code: 1, stderr: expect.stringContaining('rto marc read <file>') });
  expect(rto('--help')).toMatchObject({
    code: 0,
    stdout: expect.stringContaining('exits 0 when every record was read'),
  });
});

test('reads the Brodart vendor file and a large MARC-8 file in full, touching nothing', () => {
  const r = rto('read', marc('evergreen', 'jazz_1k.mrc'), '--json');
  expect(r.code).toBe(0);
  expect(lines(r.stdout)).toHaveLength(1000);
  const brodart = rto('read', marc('evergreen', 'brodart__brodart_bibzII_MARC_on-order_records_w_funds.001'));
  expect(brodart.code).toBe(0);
  expect(lines(brodart.stdout).at(-1)).toMatch(
    /11 record\(s\): 11 read \(11 MARC-8, 0 UTF-8\), 0 with warnings, 0 not read$/,
  );
  expect(readFileSync(marc('evergreen', 'jazz_1k.mrc')).length).toBe(939407);
});
