/**
 * The MARC 21 record model shared by the readers, the writers and the overlay: a leader and the fields in
 * record order. Tags are kept as strings because Alma adds alphabetic ones (AVA, INST) to the records it returns.
 */

export interface Subfield {
  code: string;
  value: string;
}

/** A control field (tags 001-009): a value, no indicators, no subfields. */
export interface ControlField {
  tag: string;
  value: string;
}

export interface DataField {
  tag: string;
  ind1: string;
  ind2: string;
  subfields: Subfield[];
}

export type MarcField = ControlField | DataField;

export interface MarcRecord {
  /** 24 characters. */
  leader: string;
  fields: MarcField[];
}

/**
 * The result of reading one record from a file: a bad record is reported in place and reading goes on. A record
 * read may carry warnings (what was odd and how it was read) and, from ISO 2709, the encoding its text was in.
 */
export type MarcReadResult =
  | {
      ok: true;
      record: MarcRecord;
      index: number;
      offset: number;
      warnings?: string[];
      encoding?: 'utf8' | 'marc8';
    }
  | { ok: false; index: number; offset: number; error: string };

export function isControlField(field: MarcField): field is ControlField {
  return !('subfields' in field);
}

export function isDataField(field: MarcField): field is DataField {
  return 'subfields' in field;
}

/** MARC 21 control tags are 001-009 (00X); everything else carries indicators and subfields. */
export function isControlTag(tag: string): boolean {
  return tag.length === 3 && tag.startsWith('00');
}

/** True when `tag` matches `pattern`, where an X (or x) in the pattern matches any character: `9XX`, `0X0`. */
export function tagMatches(tag: string, pattern: string): boolean {
  if (tag.length !== pattern.length) return false;
  for (let i = 0; i < tag.length; i++) {
    const p = pattern[i]!;
    if (p !== 'X' && p !== 'x' && p !== tag[i]) return false;
  }
  return true;
}

export function tagMatchesAny(tag: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => tagMatches(tag, p));
}

/** The fields whose tag matches the pattern, in record order. */
export function getFields(record: MarcRecord, tagPattern: string): MarcField[] {
  return record.fields.filter((f) => tagMatches(f.tag, tagPattern));
}

export function getDataFields(record: MarcRecord, tagPattern: string): DataField[] {
  return record.fields.filter((f): f is DataField => isDataField(f) && tagMatches(f.tag, tagPattern));
}

/** A field specification such as `980$a` (tag pattern, subfield code) or `001` (control field). */
export interface FieldSpec {
  tag: string;
  code?: string;
}

/** Parses `980$a` / `9XX$a` / `001`; throws on anything else so configuration mistakes surface early. */
export function parseFieldSpec(spec: string): FieldSpec {
  const m = /^([0-9A-Za-z]{3})(?:\$([0-9A-Za-z]))?$/.exec(spec.trim());
  if (!m) throw new Error(`invalid MARC field specification "${spec}": expected e.g. 980$a or 001`);
  return m[2] === undefined ? { tag: m[1]! } : { tag: m[1]!, code: m[2] };
}

/**
 * Every value of a subfield (`980$a`, tag wildcards allowed) in record order; with no `$code`, the values of
 * the matching control fields.
 */
export function subfieldValues(record: MarcRecord, spec: string): string[] {
  const { tag, code } = parseFieldSpec(spec);
  const out: string[] = [];
  for (const f of record.fields) {
    if (!tagMatches(f.tag, tag)) continue;
    if (isControlField(f)) {
      if (code === undefined) out.push(f.value);
    } else if (code !== undefined) {
      for (const sf of f.subfields) if (sf.code === code) out.push(sf.value);
    }
  }
  return out;
}

/** Leader position 09: `a` means UCS/Unicode (UTF-8), blank means MARC-8. */
export function withUnicodeLeader(leader: string): string {
  const l = leader.padEnd(24, ' ').slice(0, 24);
  return l.slice(0, 9) + 'a' + l.slice(10);
}
