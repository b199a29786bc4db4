/** Configuration: the example file says everything docs/configuration.md lists; errors name file, path and problem. */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, interpolate, loadConfigFile, resolveSecret } from '../src/config/load';
import { parseDuration } from '../src/config/duration';
import { intakeToken } from '../src/cli/intake';
import { loadSettings } from '../src/config/settings';

const EXAMPLE = join(__dirname, '..', 'config', 'example.json');
const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
let n = 0;

/** The example configuration as an object, to change one thing and write it to a real file. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON fixtures, broken one field at a time
function example(): Record<string, any> {
  return JSON.parse(readFileSync(EXAMPLE, 'utf8'));
}
function writeConfig(raw: unknown): string {
  const file = join(dir, `config-${++n}.json`);
  writeFileSync(file, JSON.stringify(raw, null, 2));
  return file;
}
function loadError(file: string): string {
  try {
    loadConfigFile(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`${file} loaded but should not have`);
}

describe('the example configuration', () => {
  const cfg = loadConfigFile(EXAMPLE);
  const main = cfg.accounts['UNIV-MAIN']!;
  const law = cfg.accounts['UNIV-LAW']!;

  it('has both accounts in the one institution 01UNIV_INST', () => {
    expect(Object.keys(cfg.accounts).sort()).toEqual(['UNIV-LAW', 'UNIV-MAIN']);
    expect(main.institution).toBe('01UNIV_INST');
    expect(law.institution).toBe('01UNIV_INST');
    expect(cfg.institutions['01UNIV_INST']!.apiKey).toEqual({
      env: 'ALMA_API_KEY_01UNIV_INST',
      sandboxDefault: 'sandbox-key-01UNIV_INST',
    });
    expect(cfg.institutions['01UNIV_INST']!.requestTimeout).toBe(30_000);
  });

  it('UNIV-MAIN: USD, its funds, MAIN with MATH/STACKS/REF, the MATH rule, confirmation on, api', () => {
    expect(main.currencies).toEqual(['USD']);
    expect(main.funds).toEqual(['M123', 'M567', 'G888', 'R312', 'GEN01']);
    expect(main.libraries).toEqual({ MAIN: { locations: ['MATH', 'STACKS', 'REF'] } });
    expect(main.fundLocationRules).toEqual([
      { library: 'MAIN', location: 'MATH', funds: ['M123', 'M567', 'G888', 'R312'] },
    ]);
    expect(main.email.confirmation).toBe(true);
    expect(main.ordering).toEqual({ default: 'api', orderTypes: {} });
    expect(main.followUp.statusWithin).toBe(14 * 86_400_000);
    expect(main.marc.fields.orderId).toBe('980$a');
  });

  it('UNIV-LAW: USD and EUR, its funds, LAW/STACKS, confirmation off, standing orders by EDI', () => {
    expect(law.currencies).toEqual(['USD', 'EUR']);
    expect(law.funds).toEqual(['LAW-FOREIGN', 'LAW-GEN']);
    expect(law.libraries).toEqual({ LAW: { locations: ['STACKS'] } });
    expect(law.fundLocationRules).toEqual([]);
    expect(law.email.confirmation).toBe(false);
    expect(law.ordering).toEqual({ default: 'api', orderTypes: { standing: 'edi' } });
    // Defaults fill what the file leaves out.
    expect(law.alma.acquisitionMethod).toBe('VENDOR_SYSTEM');
    expect(law.followUp.invoiceWithin).toBe(90 * 86_400_000);
    expect(law.edi.every).toBe(15 * 60_000);
  });
});

describe('${VAR} interpolation', () => {
  it('uses the variable, or the default, and names the path of an unset variable without default', () => {
    const env = { HOST: 'alma.example.org' };
    expect(interpolate({ a: ['https://${HOST}/x', '${PORT:-8480}'] }, env)).toEqual({
      a: ['https://alma.example.org/x', '8480'],
    });
    // An empty variable counts as unset, so the default applies.
    expect(interpolate('${HOST:-d}', { HOST: '' })).toBe('d');
    expect(() => interpolate({ a: { b: ['x', '${NOT_SET_ANYWHERE}'] } }, env)).toThrow(
      /a\.b\.1: \$\{NOT_SET_ANYWHERE\} is used but the environment does not set it/,
    );
  });

  it('applies to the file as loaded, and the error names the file', () => {
    const raw = example();
    raw.institutions['01UNIV_INST'].gateway = '${RTO_TEST_GATEWAY}';
    const file = writeConfig(raw);
    process.env.RTO_TEST_GATEWAY = 'https://api-eu.hosted.exlibrisgroup.com/almaws/v1';
    try {
      expect(loadConfigFile(file).institutions['01UNIV_INST']!.gateway).toBe(
        'https://api-eu.hosted.exlibrisgroup.com/almaws/v1',
      );
    } finally {
      delete process.env.RTO_TEST_GATEWAY;
    }
    const msg = loadError(file);
    expect(msg).toContain(file);
    expect(msg).toContain('institutions.01UNIV_INST.gateway');
    expect(msg).toContain('${RTO_TEST_GATEWAY}');
  });
});

describe('errors name the file, the JSON path and the problem', () => {
  it('an unknown key', () => {
    const raw = example();
    raw.accounts['UNIV-LAW'].email.copyTo = ['x@univ.example.edu'];
    const file = writeConfig(raw);
    const msg = loadError(file);
    expect(msg).toContain(file);
    expect(msg).toMatch(/accounts\.UNIV-LAW\.email: .*copyTo/);
  });

  it('a bad duration', () => {
    const raw = example();
    raw.accounts['UNIV-MAIN'].followUp.statusWithin = '5 parsecs';
    const file = writeConfig(raw);
    const msg = loadError(file);
    expect(msg).toContain(file);
    expect(msg).toContain('accounts.UNIV-MAIN.followUp.statusWithin: "5 parsecs" is not a duration');
  });

  it('an account pointing to an unknown institution', () => {
    const raw = example();
    raw.accounts['UNIV-LAW'].institution = '01OTHER_INST';
    const file = writeConfig(raw);
    const msg = loadError(file);
    expect(msg).toContain(file);
    expect(msg).toContain('accounts.UNIV-LAW.institution: institution "01OTHER_INST" is not defined');
  });

  it('a secret written inline is refused, without repeating it', () => {
    const raw = example();
    raw.institutions['01UNIV_INST'].apiKey = 'l7xx-inline-secret-abc';
    const file = writeConfig(raw);
    const msg = loadError(file);
    expect(msg).toContain(file);
    expect(msg).toMatch(/institutions\.01UNIV_INST\.apiKey: a secret is written as a reference/);
    expect(msg).not.toContain('l7xx-inline-secret-abc');
    // A sandboxDefault that is not a sandbox key is an inline secret too.
    raw.institutions['01UNIV_INST'].apiKey = { env: 'K', sandboxDefault: 'l7xx-real' };
    expect(loadError(writeConfig(raw))).toContain('sandboxDefault may only hold a sandbox key');
  });

  it('a gateway over plain http: is refused unless it is on loopback', () => {
    const raw = example();
    for (const gw of [
      'http://api-na.hosted.exlibrisgroup.com/almaws/v1',
      'http://10.0.0.5/almaws/v1',
      'http://127.0.0.1.nip.io/almaws/v1',
      'http://[::2]/almaws/v1',
      'ftp://127.0.0.1/almaws/v1',
    ]) {
      raw.institutions['01UNIV_INST'].gateway = gw;
      const msg = loadError(writeConfig(raw));
      expect(msg).toContain('institutions.01UNIV_INST.gateway: must be an https: URL');
      expect(msg).toContain('loopback');
    }
    for (const gw of [
      'https://api-eu.hosted.exlibrisgroup.com/almaws/v1',
      'http://127.0.0.1:8480/almaws/v1',
      'http://127.3.2.1/almaws/v1',
      'http://localhost:8480/almaws/v1',
      'http://[::1]:8480/almaws/v1',
    ]) {
      raw.institutions['01UNIV_INST'].gateway = gw;
      expect(loadConfigFile(writeConfig(raw)).institutions['01UNIV_INST']!.gateway).toBe(gw);
    }
  });

  it('a file that is not JSON', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "institutions": ');
    expect(loadError(file)).toContain(`${file} is not valid JSON`);
  });
});

describe("names of JavaScript's own object members are refused as configuration codes", () => {
  const NAMES = ['constructor', '__proto__', 'toString'];
  /** The object with the key `from` renamed to `to`, in place in the key order (an own "__proto__" key too). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON fixtures
  const renamed = (o: Record<string, any>, from: string, to: string) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k === from ? to : k, v]));
  const reserved = (name: string) => `"${name}" is the name of a member every JavaScript object has`;

  it.each(NAMES)('%s as an account, an institution or a library', (name) => {
    const acc = example();
    acc.accounts = renamed(acc.accounts, 'UNIV-LAW', name);
    expect(JSON.stringify(acc)).toContain(`"${name}":{"name":"University Law Library"`);
    const a = loadError(writeConfig(acc));
    expect(a).toContain(`accounts.${name}: ${reserved(name)}`);

    const inst = example();
    inst.institutions = renamed(inst.institutions, '01UNIV_INST', name);
    for (const x of Object.values(inst.accounts) as { institution: string }[]) x.institution = name;
    const i = loadError(writeConfig(inst));
    expect(i).toContain(`institutions.${name}: ${reserved(name)}`);
    expect(i).toContain(`accounts.UNIV-MAIN.institution: ${reserved(name)}`);

    const lib = example();
    const law = lib.accounts['UNIV-LAW'];
    law.libraries = renamed(law.libraries, 'LAW', name);
    expect(loadError(writeConfig(lib))).toContain(`accounts.UNIV-LAW.libraries.${name}: ${reserved(name)}`);
  });

  it.each(NAMES)('%s as a fund, a location, a vendor code or a default owner', (name) => {
    const raw = example();
    const main = raw.accounts['UNIV-MAIN'];
    main.funds.push(name);
    main.libraries.MAIN.locations.push(name);
    main.alma.vendorCode = name;
    main.alma.defaultOwner = name;
    main.fundLocationRules.push({ library: 'MAIN', location: name, funds: [name] });
    const msg = loadError(writeConfig(raw));
    for (const at of [
      'funds.5',
      'libraries.MAIN.locations.3',
      'alma.vendorCode',
      'alma.defaultOwner',
      'fundLocationRules.1.location',
      'fundLocationRules.1.funds.0',
    ])
      expect(msg).toContain(`accounts.UNIV-MAIN.${at}: ${reserved(name)}`);
  });

  it.each(NAMES)('%s in the CSV lists is an error naming the file and the line', (name) => {
    const sub = mkdtempSync(join(dir, 'csv-'));
    writeFileSync(join(sub, 'locations.csv'), `library,location\nLAW,RESERVE\n${name},STACKS\n`);
    writeFileSync(join(sub, 'funds.csv'), `fund\n${name}\n`);
    writeFileSync(join(sub, 'rules.csv'), `library,location,fund\nLAW,${name},LAW-GEN\n`);
    for (const kind of ['locations', 'funds', 'rules']) {
      const raw = example();
      raw.accounts['UNIV-LAW'].csv = { [kind]: `${kind}.csv` };
      const file = join(sub, `config-${kind}.json`);
      writeFileSync(file, JSON.stringify(raw));
      const msg = loadError(file);
      expect(msg).toContain(`accounts.UNIV-LAW.csv.${kind}`);
      expect(msg).toContain(join(sub, `${kind}.csv`));
      expect(msg).toContain(`row ${kind === 'locations' ? 2 : 1}`);
      expect(msg).toContain(reserved(name));
    }
  });

  it('a "__proto__" key anywhere is refused, not silently dropped', () => {
    const raw = example();
    const edi = raw.accounts['UNIV-MAIN'].edi;
    raw.accounts['UNIV-MAIN'].edi = Object.fromEntries([...Object.entries(edi), ['__proto__', {}]]);
    expect(loadError(writeConfig(raw))).toContain('accounts.UNIV-MAIN.edi.__proto__');
  });

  it('names that merely contain them are fine', () => {
    const raw = example();
    raw.accounts['UNIV-MAIN'].funds.push('CONSTRUCTOR', 'toString2', 'proto');
    expect(loadConfigFile(writeConfig(raw)).accounts['UNIV-MAIN']!.funds).toContain('toString2');
  });
});

describe('CSV import', () => {
  /** A configuration whose UNIV-LAW lists come (also) from CSV files in their own folder. */
  function withCsv(files: Record<string, string>): string {
    const sub = mkdtempSync(join(dir, 'csv-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(sub, name), text);
    const raw = example();
    raw.accounts['UNIV-LAW'].csv = { funds: 'funds.csv', locations: 'locations.csv', rules: 'rules.csv' };
    const file = join(sub, 'config.json');
    writeFileSync(file, JSON.stringify(raw));
    return file;
  }

  it('merges funds, locations and rules (quoted fields, CRLF, BOM) into the account', () => {
    const file = withCsv({
      'funds.csv':
        '\uFEFFFund,Description\r\nLAW-US,"US law, general"\r\nLAW-GEN,"dup of the JSON list"\r\n"LAW ""X""",quoted\r\n',
      'locations.csv': 'library,location,note\nLAW,RESERVE,"two\nlines"\nLAW,STACKS,\nANNEX,"DEPOSIT"\n',
      'rules.csv': 'Library,Location,Fund\r\nLAW,RESERVE,LAW-US\r\nLAW,RESERVE,LAW-GEN\r\n\r\n',
    });
    const law = loadConfigFile(file).accounts['UNIV-LAW']!;
    expect(law.funds).toEqual(['LAW-FOREIGN', 'LAW-GEN', 'LAW-US', 'LAW "X"']);
    expect(law.libraries).toEqual({
      LAW: { locations: ['STACKS', 'RESERVE'] },
      ANNEX: { locations: ['DEPOSIT'] },
    });
    expect(law.fundLocationRules).toEqual([
      { library: 'LAW', location: 'RESERVE', funds: ['LAW-US', 'LAW-GEN'] },
    ]);
  });

  it('a missing column is an error naming the file and the column', () => {
    const file = withCsv({
      'funds.csv': 'fund\nLAW-US\n',
      'locations.csv': 'library,shelf\nLAW,RESERVE\n',
      'rules.csv': 'library,location,fund\n',
    });
    const msg = loadError(file);
    expect(msg).toContain(file);
    expect(msg).toContain('accounts.UNIV-LAW.csv.locations');
    expect(msg).toContain(join(file, '..', 'locations.csv'));
    expect(msg).toContain('no "location" column');
  });

  it('a missing file is an error naming it', () => {
    const file = withCsv({ 'funds.csv': 'fund\n', 'locations.csv': 'library,location\n' });
    const msg = loadError(file);
    expect(msg).toContain('accounts.UNIV-LAW.csv.rules');
    expect(msg).toContain(join(file, '..', 'rules.csv'));
    expect(msg).toContain('ENOENT');
  });
});

describe('resolveSecret', () => {
  const secretFile = join(dir, 'alma-key');
  writeFileSync(secretFile, 'key-from-file\n');

  it('reads the environment first, then the file, then the sandbox default', () => {
    expect(resolveSecret({ env: 'ALMA_KEY', file: secretFile }, { ALMA_KEY: 'key-from-env' })).toBe(
      'key-from-env',
    );
    expect(resolveSecret({ env: 'ALMA_KEY', file: secretFile }, {})).toBe('key-from-file');
    expect(resolveSecret({ env: 'ALMA_KEY', sandboxDefault: 'sandbox-k' }, {})).toBe('sandbox-k');
    expect(resolveSecret({ env: 'ALMA_KEY', sandboxDefault: 'sandbox-k' }, { ALMA_KEY: 'real' })).toBe(
      'real',
    );
  });

  it('an unset secret names the variable and no value', () => {
    let msg = '';
    try {
      resolveSecret({ env: 'ALMA_KEY' }, { OTHER_KEY: 'do-not-show-me' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      msg = (e as Error).message;
    }
    expect(msg).toContain('ALMA_KEY');
    expect(msg).not.toContain('do-not-show-me');
  });

  it('an unreadable secret file names the file, not its contents', () => {
    expect(() => resolveSecret({ file: join(dir, 'no-such-secret') }, {})).toThrow(
      /cannot read the secret file .*no-such-secret: ENOENT/,
    );
  });
});

describe('loadSettings', () => {
  it('has the documented defaults', () => {
    const s = loadSettings({});
    expect(s.TEMPORAL_PORT).toBe(7233);
    expect(s.TEMPORAL_UI_PORT).toBe(8233);
    expect(s.ALMA_SANDBOX_PORT).toBe(8480);
    expect(s.RTO_HTTP_PORT).toBe(8080);
    expect(s.SMTP_PORT).toBe(2525);
    expect(s.FTP_PORT).toBe(2121);
    expect(s.RTO_DATA_DIR).toBe('.data');
    expect(s.RTO_CONFIG).toBe(EXAMPLE);
  });

  it('takes values from the environment; empty means default', () => {
    const s = loadSettings({ RTO_HTTP_PORT: '9090', SMTP_PORT: '', RTO_DATA_DIR: '/var/rto' });
    expect(s.RTO_HTTP_PORT).toBe(9090);
    expect(s.SMTP_PORT).toBe(2525);
    expect(s.RTO_DATA_DIR).toBe('/var/rto');
  });

  it('a bad value is an error naming the setting', () => {
    expect(() => loadSettings({ RTO_HTTP_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadSettings({ RTO_HTTP_PORT: 'abc' })).toThrow(/RTO_HTTP_PORT/);
    expect(() => loadSettings({ FTP_PORT: '70000' })).toThrow(/FTP_PORT/);
  });
});

describe('intakeToken', () => {
  const LONG = 'a-long-enough-intake-token-0123456789';

  it('takes RTO_HTTP_TOKEN, then RTO_HTTP_TOKEN_FILE', () => {
    const d = mkdtempSync(join(dir, 'token-'));
    expect(intakeToken({ RTO_HTTP_TOKEN: LONG }, d)).toEqual({ token: LONG, where: 'RTO_HTTP_TOKEN' });
    const file = join(d, 'token.txt');
    writeFileSync(file, `${LONG}\n`);
    expect(intakeToken({ RTO_HTTP_TOKEN_FILE: file }, d)).toEqual({ token: LONG, where: file });
  });

  it('refuses a token under 32 characters, naming where it came from but not the token', () => {
    const d = mkdtempSync(join(dir, 'token-'));
    const short = 'short-secret-token-31-chars-xyz';
    expect(short).toHaveLength(31);
    const fromEnv = (): unknown => intakeToken({ RTO_HTTP_TOKEN: short }, d);
    expect(fromEnv).toThrow(/RTO_HTTP_TOKEN.*at least 32 characters/);
    expect(fromEnv).not.toThrow(new RegExp(short));
    const file = join(d, 'short.txt');
    writeFileSync(file, `  ${short}  \n`);
    const fromFile = (): unknown => intakeToken({ RTO_HTTP_TOKEN_FILE: file }, d);
    expect(fromFile).toThrow(file);
    expect(fromFile).toThrow(/at least 32 characters/);
    expect(fromFile).not.toThrow(new RegExp(short));
  });

  it('generates a long token in the data dir once, creating the dir, readable by the owner only', () => {
    const d = join(mkdtempSync(join(dir, 'token-')), 'not', 'yet');
    const first = intakeToken({}, d);
    expect(first.where).toBe(join(d, 'http-token'));
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(first.where).mode & 0o777).toBe(0o600);
    expect(intakeToken({}, d)).toEqual(first);
  });

  it('refuses a generated-token file that was shortened by hand', () => {
    const d = mkdtempSync(join(dir, 'token-'));
    writeFileSync(join(d, 'http-token'), 'abc\n');
    expect(() => intakeToken({}, d)).toThrow(join(d, 'http-token'));
  });
});

describe('parseDuration', () => {
  it('reads numbers with units, and bare milliseconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('36h')).toBe(36 * 3_600_000);
    expect(parseDuration('14d')).toBe(14 * 86_400_000);
    expect(parseDuration(' 1.5h ')).toBe(5_400_000);
    expect(parseDuration(1234)).toBe(1234);
    expect(parseDuration('0s')).toBe(0);
  });

  it('refuses anything else, saying how to write one', () => {
    expect(() => parseDuration('5 parsecs')).toThrow(
      /"5 parsecs" is not a duration: write a number and a unit/,
    );
    for (const bad of ['15', 'm', '-5s', '1e3ms', '', '5 s s']) expect(() => parseDuration(bad)).toThrow();
    expect(() => parseDuration(-1)).toThrow();
    expect(() => parseDuration(Number.NaN)).toThrow();
  });
});
