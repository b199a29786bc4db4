/**
 * The doctor's checks against Alma, all through the project's Alma client (and its institution's budget): the
 * key and its API areas, the vendor, funds, libraries and locations, code tables and the fund-location rules.
 * Nothing is changed: the write probes are requests Alma refuses for their content (a PO line and a bib that
 * cannot exist), which it answers only once the key's permission for the area has been accepted.
 */
import type { AlmaClient, CodeTable } from '../alma/client';
import { AlmaError } from '../alma/errors';
import type { Account, Config } from '../config/schema';
import { isLoopbackHost } from '../config/schema';
import { own } from '../config/lookup';
import type { Finding } from './report';

/**
 * The code tables the account's codes come from (GET /conf/code-tables/{name}). PurchaseType (PO line types),
 * PhysicalMaterialType and POLineCancellationReasons are named so by public Alma Cloud Apps and integrations,
 * which read their `row` list; the acquisition-method table's name is UNCONFIRMED. When Alma does not know a
 * table, the check says it cannot check rather than failing.
 */
export const CODE_TABLES = {
  poLineType: 'PurchaseType',
  materialType: 'PhysicalMaterialType',
  acquisitionMethod: 'AcquisitionMethod',
  cancellationReason: 'POLineCancellationReasons',
} as const;

/** A PO line number and an MMS id no Alma has: the write probes aim at them so that nothing can change. */
export const PROBE_PO_LINE = 'RTO-DOCTOR-PROBE-NOT-A-PO-LINE';
export const PROBE_MMS_ID = '1';
const PROBE_BIB_XML = '<bib></bib>';

/** Below this many calls left today, a warning. */
export const LOW_DAILY_CALLS = 200;

export interface InstitutionProbe {
  code: string;
  client: AlmaClient;
  /** The key works (GET /acq/test): without it the account checks are skipped. */
  keyWorks: boolean;
  codeTables: Map<string, Promise<CodeTable>>;
}

const failureText = (e: unknown) => (e instanceof AlmaError ? e.message : (e as Error).message);
const isAlma = (e: unknown, ...kinds: AlmaError['kind'][]) =>
  e instanceof AlmaError && kinds.includes(e.kind);

/** The key and what it may do, once per institution. */
export async function checkInstitution(
  code: string,
  config: Config,
  client: AlmaClient,
  keyFromSandboxDefault: boolean,
): Promise<{ findings: Finding[]; keyWorks: boolean }> {
  const inst = own(config.institutions, code)!;
  const setting = `institutions.${code}.apiKey`;
  const findings: Finding[] = [];
  const f = (x: Omit<Finding, 'institution'>) => findings.push({ institution: code, ...x });
  try {
    await client.test();
    f({ check: 'alma.key', outcome: 'ok', message: `the API key works (GET /acq/test on ${inst.gateway})` });
  } catch (e) {
    if (isAlma(e, 'unauthorised'))
      f({
        check: 'alma.key',
        outcome: 'problem',
        setting,
        message: `Alma refuses the API key: ${failureText(e)}`,
        fix: "put the institution's key (Developer Network > API keys) in the secret this setting names",
      });
    else
      f({
        check: 'alma.key',
        outcome: 'problem',
        setting: `institutions.${code}.gateway`,
        message: `Alma cannot be asked: ${failureText(e)}`,
        fix: "the gateway is https://api-{na|eu|ap|ca|cn}.hosted.exlibrisgroup.com/almaws/v1 for the institution's region",
      });
    return { findings, keyWorks: false };
  }

  // Production or sandbox: Alma's API does not say which environment a key belongs to (UNCONFIRMED that any
  // call does), so what can be checked is the configuration's side.
  if (isLoopbackHost(new URL(inst.gateway).hostname))
    f({
      check: 'alma.production',
      outcome: 'ok',
      message: 'the gateway is the local Alma sandbox: no production key expected',
    });
  else if (keyFromSandboxDefault)
    f({
      check: 'alma.production',
      outcome: 'problem',
      setting,
      message:
        "the gateway is a real Alma but the key is the sandbox's well-known default (its env/file is not set)",
      fix: 'set the environment variable or file this setting names to the production key',
    });
  else
    f({
      check: 'alma.production',
      outcome: 'cannot-check',
      setting,
      message:
        'whether the key is a production key cannot be determined through the API (the key works on a real gateway); ' +
        'check in the Developer Network that its environment is Production',
    });

  // One cheap, harmless call per API area the project uses.
  const area = async (name: string, probe: () => Promise<unknown>, write: boolean) => {
    try {
      await probe();
      f({
        check: 'alma.area',
        outcome: write ? 'problem' : 'ok',
        message: write ? `${name}: the probe was accepted, which it should never be` : `${name}: allowed`,
      });
    } catch (e) {
      if (isAlma(e, 'unauthorised'))
        f({
          check: 'alma.area',
          outcome: 'problem',
          setting,
          message: `${name}: the key is not allowed (${failureText(e)})`,
          fix: `give the key ${name} in the Developer Network (the project needs Acquisitions read/write, Bibs read/write, Configuration read)`,
        });
      else if (isAlma(e, 'not-found', 'invalid-request'))
        f({
          check: 'alma.area',
          outcome: 'ok',
          message: `${name}: allowed (Alma refused the probe for its content, not its key: ${(e as AlmaError).code ?? (e as AlmaError).status})`,
        });
      else
        f({
          check: 'alma.area',
          outcome: 'cannot-check',
          message: `${name}: cannot check: ${failureText(e)}`,
        });
    }
  };
  const anyAccount = Object.values(config.accounts).find((a) => a.institution === code);
  await area('Acquisitions read', () => client.searchPoLines(`number~${PROBE_PO_LINE}`, { limit: 1 }), false);
  await area(
    'Acquisitions read/write',
    () =>
      client.cancelPoLine(PROBE_PO_LINE, {
        reason: anyAccount?.alma.cancellationReason ?? 'LIBRARY_CANCELLED',
      }),
    true,
  );
  await area('Bibs read', () => client.getBib(PROBE_MMS_ID), false);
  await area('Bibs read/write', () => client.putBib(PROBE_MMS_ID, PROBE_BIB_XML), true);
  await area('Configuration read', () => client.listLibraries(), false);
  return { findings, keyWorks: true };
}

const active = (s: { value?: string | null } | null | undefined) =>
  !s?.value || s.value.toUpperCase() === 'ACTIVE';

/** The account's codes against its institution's Alma. */
export async function checkAccountInAlma(
  accountCode: string,
  account: Account,
  probe: InstitutionProbe,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const f = (x: Omit<Finding, 'account' | 'institution'>) =>
    findings.push({ account: accountCode, institution: probe.code, ...x });
  const at = `accounts.${accountCode}`;
  const { client } = probe;
  if (!probe.keyWorks) {
    f({
      check: 'alma',
      outcome: 'cannot-check',
      message: `cannot check the account in Alma: the key of ${probe.code} does not work`,
    });
    return findings;
  }

  // Vendor and vendor account.
  const { vendorCode, vendorAccount } = account.alma;
  try {
    const v = await client.getVendor(vendorCode);
    if (!active(v.status))
      f({
        check: 'alma.vendor',
        outcome: 'problem',
        setting: `${at}.alma.vendorCode`,
        message: `the vendor ${vendorCode} is ${v.status?.value ?? 'not active'} in Alma`,
        fix: 'make the vendor active in Alma (Acquisitions > Vendors), or name the active one',
      });
    else
      f({
        check: 'alma.vendor',
        outcome: 'ok',
        setting: `${at}.alma.vendorCode`,
        message: `the vendor ${vendorCode} exists and is active`,
      });
    const acc = (v.account ?? []).find((a) => a.code === vendorAccount);
    const known = (v.account ?? []).map((a) => a.code).join(', ') || 'none';
    if (!acc)
      f({
        check: 'alma.vendorAccount',
        outcome: 'problem',
        setting: `${at}.alma.vendorAccount`,
        message: `the vendor ${vendorCode} has no account ${vendorAccount} (it has: ${known})`,
        fix: 'add the account to the vendor in Alma, or set one of its accounts here',
      });
    else if (!active(acc.status))
      f({
        check: 'alma.vendorAccount',
        outcome: 'problem',
        setting: `${at}.alma.vendorAccount`,
        message: `the vendor account ${vendorAccount} is ${acc.status?.value} in Alma`,
        fix: 'make the vendor account active in Alma',
      });
    else
      f({
        check: 'alma.vendorAccount',
        outcome: 'ok',
        setting: `${at}.alma.vendorAccount`,
        message: `the vendor account ${vendorAccount} exists and is active`,
      });
  } catch (e) {
    f({
      check: 'alma.vendor',
      outcome: isAlma(e, 'not-found') ? 'problem' : 'cannot-check',
      setting: `${at}.alma.vendorCode`,
      message: isAlma(e, 'not-found')
        ? `the vendor ${vendorCode} does not exist in Alma (${failureText(e)})`
        : `cannot check the vendor ${vendorCode}: ${failureText(e)}`,
      fix: 'create the vendor in Alma (Acquisitions > Vendors) or correct the code',
    });
  }

  // Funds: the account's list and every fund a rule names.
  const fundsSetting = account.csv?.funds
    ? `${at}.funds (and the CSV file ${account.csv.funds})`
    : `${at}.funds`;
  const wanted = [...new Set([...account.funds, ...account.fundLocationRules.flatMap((r) => r.funds)])];
  const knownFunds = new Set<string>();
  for (const code of wanted) {
    try {
      // Alma's `~` is a case-insensitive "contains"; fund codes are case-sensitive: compared exactly here.
      const hits = (await client.listFunds(`fund_code~${code}`)).filter((x) => x.code === code);
      const fund = hits[0];
      if (!fund)
        f({
          check: 'alma.fund',
          outcome: 'problem',
          setting: fundsSetting,
          message: `the fund ${code} is not in Alma among the funds usable on PO lines (mode=POL)`,
          fix: 'correct the code (fund codes are case-sensitive), or create or activate the fund in Alma for this fiscal period',
        });
      else if (!active(fund.status))
        f({
          check: 'alma.fund',
          outcome: 'problem',
          setting: fundsSetting,
          message: `the fund ${code} is ${fund.status?.value} in Alma`,
          fix: 'activate the fund in Alma, or remove it from the list',
        });
      else {
        knownFunds.add(code);
        f({
          check: 'alma.fund',
          outcome: 'ok',
          setting: fundsSetting,
          message: `the fund ${code} exists and is active`,
        });
      }
    } catch (e) {
      f({
        check: 'alma.fund',
        outcome: 'cannot-check',
        setting: fundsSetting,
        message: `cannot check the fund ${code}: ${failureText(e)}`,
      });
    }
  }

  // Libraries and their locations (the default owner too).
  const knownLocations = new Map<string, Set<string>>();
  let libraries: Set<string> | undefined;
  try {
    libraries = new Set((await client.listLibraries()).map((l) => l.code));
  } catch (e) {
    f({
      check: 'alma.library',
      outcome: 'cannot-check',
      message: `cannot list Alma's libraries: ${failureText(e)}`,
    });
  }
  if (libraries) {
    const owner = account.alma.defaultOwner;
    if (!libraries.has(owner))
      f({
        check: 'alma.library',
        outcome: 'problem',
        setting: `${at}.alma.defaultOwner`,
        message: `the default owner library ${owner} is not in Alma (it has: ${[...libraries].join(', ') || 'none'})`,
        fix: 'name a library code from Alma (Configuration > General > Libraries)',
      });
    const libSetting = account.csv?.locations ? ` (and the CSV file ${account.csv.locations})` : '';
    for (const [lib, { locations }] of Object.entries(account.libraries)) {
      if (!libraries.has(lib)) {
        f({
          check: 'alma.library',
          outcome: 'problem',
          setting: `${at}.libraries.${lib}${libSetting}`,
          message: `the library ${lib} is not in Alma (it has: ${[...libraries].join(', ') || 'none'})`,
          fix: 'correct the library code, or remove the library',
        });
        continue;
      }
      let inAlma: Set<string>;
      try {
        inAlma = new Set((await client.listLocations(lib)).map((l) => l.code));
      } catch (e) {
        f({
          check: 'alma.location',
          outcome: 'cannot-check',
          message: `cannot list the locations of ${lib}: ${failureText(e)}`,
        });
        continue;
      }
      knownLocations.set(lib, inAlma);
      const missing = locations.filter((l) => !inAlma.has(l));
      for (const loc of missing)
        f({
          check: 'alma.location',
          outcome: 'problem',
          setting: `${at}.libraries.${lib}.locations${libSetting}`,
          message: `the location ${loc} is not in library ${lib} in Alma (it has: ${[...inAlma].join(', ') || 'none'})`,
          fix: 'correct the location code, or remove it',
        });
      if (!missing.length)
        f({
          check: 'alma.location',
          outcome: 'ok',
          setting: `${at}.libraries.${lib}.locations${libSetting}`,
          message: `the library ${lib} and its locations ${locations.join(', ')} exist`,
        });
    }
  }

  // Codes from Alma's code tables.
  const alma = account.alma;
  const coded: { table: string; code: string; setting: string }[] = [
    { table: CODE_TABLES.poLineType, code: alma.poLineType.print, setting: `${at}.alma.poLineType.print` },
    { table: CODE_TABLES.poLineType, code: alma.poLineType.ebook, setting: `${at}.alma.poLineType.ebook` },
    { table: CODE_TABLES.materialType, code: alma.materialType, setting: `${at}.alma.materialType` },
    {
      table: CODE_TABLES.acquisitionMethod,
      code: alma.acquisitionMethod,
      setting: `${at}.alma.acquisitionMethod`,
    },
    {
      table: CODE_TABLES.cancellationReason,
      code: alma.cancellationReason,
      setting: `${at}.alma.cancellationReason`,
    },
  ];
  for (const c of coded) {
    let table: CodeTable;
    try {
      let p = probe.codeTables.get(c.table);
      if (!p) {
        p = client.getCodeTable(c.table);
        probe.codeTables.set(c.table, p);
      }
      table = await p;
    } catch (e) {
      f({
        check: 'alma.codeTable',
        outcome: 'cannot-check',
        setting: c.setting,
        message: `cannot check ${c.code} against the code table ${c.table}: Alma answered: ${failureText(e).replace(/^Alma /, '')}`,
      });
      continue;
    }
    const row = (table.row ?? []).find((r) => r.code === c.code);
    const enabled = row && row.enabled !== false && String(row.enabled).toLowerCase() !== 'false';
    if (!row)
      f({
        check: 'alma.codeTable',
        outcome: 'problem',
        setting: c.setting,
        message: `${c.code} is not in Alma's code table ${c.table} (it has: ${
          (table.row ?? [])
            .map((r) => r.code)
            .slice(0, 20)
            .join(', ') || 'none'
        })`,
        fix: 'use a code from that table (Configuration > Acquisitions), respecting case',
      });
    else if (!enabled)
      f({
        check: 'alma.codeTable',
        outcome: 'problem',
        setting: c.setting,
        message: `${c.code} is disabled in Alma's code table ${c.table}`,
        fix: 'enable the row in Alma, or use an enabled code',
      });
    else
      f({
        check: 'alma.codeTable',
        outcome: 'ok',
        setting: c.setting,
        message: `${c.code} is in the code table ${c.table}`,
      });
  }

  // Fund-location rules name funds and locations that exist.
  account.fundLocationRules.forEach((rule, i) => {
    const setting = account.csv?.rules
      ? `${at}.fundLocationRules[${i}] (from the CSV file ${account.csv.rules})`
      : `${at}.fundLocationRules[${i}]`;
    const problems: string[] = [];
    const configured = own(account.libraries, rule.library);
    if (!configured) problems.push(`the library ${rule.library} is not among the account's libraries`);
    else if (!configured.locations.includes(rule.location))
      problems.push(`the location ${rule.location} is not among the account's locations of ${rule.library}`);
    const alma = knownLocations.get(rule.library);
    if (alma && !alma.has(rule.location))
      problems.push(`Alma has no location ${rule.location} in ${rule.library}`);
    const unknownFunds = rule.funds.filter((x) => !knownFunds.has(x));
    if (unknownFunds.length)
      problems.push(`the fund(s) ${unknownFunds.join(', ')} are not active funds in Alma`);
    const notListed = rule.funds.filter((x) => !account.funds.includes(x));
    if (notListed.length) problems.push(`the fund(s) ${notListed.join(', ')} are not in ${at}.funds`);
    if (problems.length)
      f({
        check: 'rules',
        outcome: 'problem',
        setting,
        message: `the rule for ${rule.library}/${rule.location}: ${problems.join('; ')}`,
        fix: "name only the account's libraries, locations and funds, as they are in Alma",
      });
    else
      f({
        check: 'rules',
        outcome: 'ok',
        setting,
        message: `the rule for ${rule.library}/${rule.location} names known funds and locations`,
      });
  });
  return findings;
}

/** The day's API calls left, from X-Exl-Api-Remaining of the last answer. */
export function budgetFinding(code: string, remaining: number | undefined): Finding {
  if (remaining === undefined)
    return {
      check: 'alma.budget',
      institution: code,
      outcome: 'cannot-check',
      message: "Alma's answers carried no X-Exl-Api-Remaining: the calls left today are unknown",
    };
  if (remaining < LOW_DAILY_CALLS)
    return {
      check: 'alma.budget',
      institution: code,
      outcome: 'warning',
      setting: `institutions.${code}.budgetShare`,
      message: `only ${remaining} Alma API calls are left today for the whole institution`,
      fix: "orders wait once the day's calls are spent (until Alma resets the count); ask which other integrations use the budget",
    };
  return {
    check: 'alma.budget',
    institution: code,
    outcome: 'ok',
    message: `${remaining} Alma API calls are left today`,
  };
}
