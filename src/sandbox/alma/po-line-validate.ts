/**
 * The checks Alma makes on a PO line body before it stores anything (POST and PUT): mandatory fields, coded
 * fields sent as `{value}` and found in their code tables, plain-string fields sent as strings, the owner's
 * shelving locations, currencies, the fund distribution adding up, and no second live line with the same vendor
 * reference. Each refusal is an AlmaFault: nothing is committed. Sources and assumptions: docs/alma-sandbox.md.
 */
import { AlmaFault } from './render';
import { hasCode, type CodeTable } from './code-tables';
import { codeOf, isObj, rolesOf, str, tablesOf } from './po-line-lifecycle';
import type { InstitutionState } from './state';

type Obj = Record<string, unknown>;

export function missing(field: string): never {
  throw new AlmaFault(400, '401664', `Mandatory field is missing: ${field}`);
}

export function illegal(field: string, value: string): never {
  throw new AlmaFault(400, '401872', `Given ${field} ${value} is illegal.`);
}

function general(message: string): never {
  throw new AlmaFault(400, '402119', `General Error: ${message}`);
}

/** A coded field must be `{value: "…"}`: Alma's po_line has no bare-string form for it. */
function codedField(path: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || typeof v.value !== 'string') {
    general(`${path} is a coded field and must be an object {"value": "…"}, not ${JSON.stringify(v)}.`);
  }
  return v.value;
}

function inTable(path: string, v: unknown, table: CodeTable): string | undefined {
  const code = codedField(path, v);
  if (code !== undefined && code !== '' && !hasCode(table, code)) illegal(path, code);
  return code;
}

function plainString(path: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    general(`${path} is a plain string in Alma's po_line, not ${JSON.stringify(v)}.`);
  return v;
}

const number = (v: unknown): number => (typeof v === 'number' ? v : Number(str(v)));

/** Checks a body and returns the owner, type and given mms_id it names. */
export function checkPoLineBody(
  inst: InstitutionState,
  body: Obj,
  opts: { number?: string } = {},
): { owner: string; type: string; givenMms: string } {
  const t = tablesOf(inst);
  const owner = codedField('owner', body.owner) ?? '';
  const type = codedField('type', body.type) ?? '';
  const meta = isObj(body.resource_metadata) ? body.resource_metadata : {};
  const givenMms = codedField('resource_metadata.mms_id', meta.mms_id) ?? '';
  if (!owner) missing('owner');
  if (!type) missing('type');
  if (!str(meta.title) && !givenMms) missing('resource_metadata.title');
  if (!Object.hasOwn(inst.seed.libraries, owner)) illegal('owner', owner);
  if (!hasCode(t.poLineTypes, type)) illegal('type', type);
  if (givenMms && !inst.bibs[givenMms]) illegal('mms_id', givenMms);

  codedField('vendor', body.vendor);
  plainString('vendor_account', body.vendor_account);
  inTable('acquisition_method', body.acquisition_method, t.acquisitionMethods);
  inTable('material_type', body.material_type, t.materialTypes);
  inTable('vendor_reference_number_type', body.vendor_reference_number_type, t.vendorReferenceNumberTypes);
  codedField('source_type', body.source_type);
  plainString('vendor_reference_number', body.vendor_reference_number);

  let priceSum: number | undefined;
  if (body.price !== undefined && body.price !== null) {
    if (!isObj(body.price)) general('price must be an object {"sum", "currency": {"value"}}.');
    priceSum = number(body.price.sum);
    if (body.price.sum !== undefined && !Number.isFinite(priceSum)) illegal('price.sum', str(body.price.sum));
    inTable('price.currency', body.price.currency, t.currencies);
  }

  const locations = body.location ?? [];
  if (!Array.isArray(locations)) general('location must be a list.');
  let quantity = 0;
  locations.forEach((l, i) => {
    if (!isObj(l)) general(`location[${i}] must be an object.`);
    const lib = codedField(`location[${i}].library`, l.library) ?? owner;
    if (!Object.hasOwn(inst.seed.libraries, lib)) illegal(`location[${i}].library`, lib);
    const shelf = plainString(`location[${i}].shelving_location`, l.shelving_location);
    if (shelf !== undefined && !inst.seed.libraries[lib]!.includes(shelf)) {
      illegal('shelving_location', shelf);
    }
    const q = l.quantity === undefined ? 1 : number(l.quantity);
    if (!Number.isInteger(q) || q < 0) illegal(`location[${i}].quantity`, str(l.quantity));
    quantity += q;
  });

  const dist = body.fund_distribution ?? [];
  if (!Array.isArray(dist)) general('fund_distribution must be a list.');
  if (dist.length) {
    let percents = 0;
    let amounts = 0;
    let byPercent = 0;
    let byAmount = 0;
    dist.forEach((d, i) => {
      if (!isObj(d)) general(`fund_distribution[${i}] must be an object.`);
      codedField(`fund_distribution[${i}].fund_code`, d.fund_code);
      if (d.percent !== undefined && d.percent !== null) {
        byPercent++;
        percents += number(d.percent);
      }
      if (d.amount !== undefined && d.amount !== null) {
        byAmount++;
        if (!isObj(d.amount)) general(`fund_distribution[${i}].amount must be an object {"sum"}.`);
        amounts += number(d.amount.sum);
        inTable(`fund_distribution[${i}].amount.currency`, d.amount.currency, t.currencies);
      }
    });
    if (byPercent && byAmount) general('fund_distribution mixes percent and amount.');
    if (byPercent && Math.abs(percents - 100) > 1e-6) {
      general(`fund_distribution percents add up to ${percents}, not 100.`);
    }
    const total = (priceSum ?? 0) * Math.max(1, quantity);
    if (byAmount && Math.abs(amounts - total) > 0.005) {
      general(`fund_distribution amounts add up to ${amounts}, not the PO line's total price ${total}.`);
    }
  }

  const ref = str(body.vendor_reference_number);
  const vendor = codeOf(body.vendor);
  if (ref && inst.duplicateReference === 'refuse') {
    const cancelled = rolesOf(inst).cancelled;
    const other = Object.values(inst.poLines).find(
      (p) =>
        str(p.data.number) !== opts.number &&
        str(p.data.vendor_reference_number) === ref &&
        codeOf(p.data.vendor) === vendor &&
        codeOf(p.data.status) !== cancelled,
    );
    if (other) {
      general(
        `a PO line with vendor reference number ${ref} already exists for vendor ${vendor} (${str(other.data.number)}).`,
      );
    }
  }
  return { owner, type, givenMms };
}

/** DELETE's `reason`, from the PO Line Cancellation Reasons code table. */
export function checkCancellationReason(inst: InstitutionState, reason: string): void {
  if (!hasCode(tablesOf(inst).cancellationReasons, reason)) illegal('reason', reason);
}

/** `profile_code`: one of the institution's New Order API profiles (none named: only the default profile). */
export function checkProfileCode(inst: InstitutionState, code: string | null): void {
  if (code === null || code === '') return;
  if (!(inst.seed.profileCodes ?? []).includes(code)) illegal('profile_code', code);
}
