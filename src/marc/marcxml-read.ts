/**
 * MARCXML reading with saxes, streaming: `<collection>`, a lone `<record>` or Alma's `<bib><record>`, with the
 * MARC 21 slim namespace (default or prefixed, e.g. `marc:`) or none, attributes in any order (Alma writes
 * `ind1 ind2 tag`), empty subfields allowed. Elements in any other namespace are ignored.
 * A record that is well-formed XML but not a usable MARC record is reported as `{ok: false}` and reading goes
 * on; XML that is not well-formed stops the reader after reporting it, since nothing after it can be trusted.
 * So do bytes that are not UTF-8 and elements nested deeper than MAX_XML_DEPTH (saxes' namespace handling costs
 * time quadratic in the depth, so a hostile file could block the worker).
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import type { ByteSource } from './iso2709-read';
import type { DataField, MarcField, MarcReadResult, MarcRecord } from './record';

export const MARCXML_NAMESPACE = 'http://www.loc.gov/MARC21/slim';

/** MARCXML needs 4 levels (collection, record, datafield, subfield); Alma's `<bib>` wrapper adds one. */
export const MAX_XML_DEPTH = 32;
/** The ISO 2709 limit (five-digit record length): a larger MARCXML record is valid and read, with a warning. */
const ISO2709_MAX_BYTES = 99999;
/**
 * What one MARCXML record may take (counted as ISO 2709 would count it): bounds the memory a record can take,
 * far above any real bibliographic record (the largest real ones are a few hundred kilobytes).
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** ISO 2709 costs of a field beyond its text: a 12-byte directory entry and a field terminator. */
const FIELD_OVERHEAD = 13;

const TAG = /^[0-9A-Za-z]{3}$/;
/** Alma adds its own fields to the records it returns, some with four-letter tags (INST). */
const ALMA_TAG = /^[0-9A-Za-z]{3,4}$/;
const INDICATOR = /^[ 0-9a-z]$/;
/** A tag that lost its leading zeros (`42` for 042), as spreadsheets and some converters write it. */
const SHORT_NUMERIC_TAG = /^[0-9]{1,2}$/;
const SUBFIELD_CODE = /^[a-z0-9]$/;

/** Thrown from a saxes handler to stop parsing at once (saxes would otherwise finish the chunk). */
class StopParsing extends Error {}

/** An attribute value for a message: short, quoted, control characters shown as `?`. */
function shown(value: string | undefined): string {
  if (value === undefined) return 'none';
  const short = value.length > 20 ? `${value.slice(0, 20)}…` : value;
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(short.replace(/[\x00-\x1f\x7f]/g, '?'));
}

type Capture = 'leader' | 'controlfield' | 'subfield' | null;

/** Builds records from saxes events; finished results are queued for the caller to take. */
class MarcXmlCollector {
  readonly results: MarcReadResult[] = [];
  /** Set once reading must stop: what is wrong with the document, e.g. "is not well-formed (…)". */
  fatal: string | null = null;
  private index = 0;
  private depth = 0;
  /** The record's size as ISO 2709 would count it; past MAX_RECORD_BYTES nothing more of it is kept. */
  private recordBytes = 0;
  private oversize = false;
  private lastRecordEnd = -1;
  private inRecord = false;
  private recordOffset = 0;
  private leader: string | null = null;
  private fields: MarcField[] = [];
  private problem: string | null = null;
  private field: DataField | null = null;
  private controlTag: string | null = null;
  private subfieldCode: string | null = null;
  private capture: Capture = null;
  private text = '';
  readonly parser = new SaxesParser({ xmlns: true, position: true });
  /** Characters the reader inserted before the document's first element (the wrapper): offsets leave them out. */
  shift = 0;

  /** Warnings of the record being read. */
  private warnings: string[] = [];

  /**
   * `lenient` (Alma's own bibs): any tag (even empty) and any indicator are kept as they are, with a warning, so
   * that a record Alma holds can be written back unchanged.
   */
  constructor(
    private readonly tagPattern: RegExp = TAG,
    private readonly lenient = false,
  ) {
    const p = this.parser;
    // After a well-formedness error saxes goes on parsing; nothing it reports then is kept.
    p.on('opentag', (tag) => {
      if (this.fatal !== null) return;
      if (++this.depth > MAX_XML_DEPTH) {
        const { line, column } = this.parser;
        this.stop(`nests elements more than ${MAX_XML_DEPTH} deep (line ${line}, column ${column})`);
      }
      this.open(tag);
    });
    p.on('closetag', (tag) => {
      if (this.fatal !== null) return;
      this.depth--;
      this.close(tag);
    });
    p.on('text', (t) => this.addText(t));
    p.on('cdata', (t) => this.addText(t));
    p.on('error', (err) => {
      if (this.fatal !== null) return;
      // A character XML does not allow (a control character in a value): saxes reads on correctly, so only the
      // record that holds it is lost.
      if (this.inRecord && /disallowed character\.$/.test(err.message)) {
        this.fail(`a character XML does not allow (${err.message.replace(/\.$/, '')})`);
        return;
      }
      this.fatal = `is not well-formed (${err.message})`;
      // On a mismatched end tag saxes closes the open elements (our record) before it reports the error:
      // that record was not closed properly, so it is withdrawn and the error is reported in its place.
      if (this.lastRecordEnd === this.parser.position && this.results.length > 0) {
        this.results.pop();
        this.index--;
      }
    });
  }

  /** Feeds text to saxes; false once reading has to stop. */
  write(text: string): boolean {
    return this.run(() => this.parser.write(text));
  }

  end(): void {
    this.run(() => this.parser.close());
  }

  private run(step: () => unknown): boolean {
    if (this.fatal !== null) return false;
    try {
      step();
    } catch (e) {
      if (!(e instanceof StopParsing)) throw e;
    }
    return this.fatal === null;
  }

  /** Stops reading: the rest of the document is not parsed at all. */
  stop(problem: string): never {
    this.fatal ??= problem;
    throw new StopParsing(problem);
  }

  private addText(t: string): void {
    if (!this.capture || this.oversize) return;
    this.grow(Buffer.byteLength(t, 'utf8'));
    if (!this.oversize) this.text += t;
  }

  /** Counts `bytes` more of the record; past the limit the record fails and is no longer built. */
  private grow(bytes: number): void {
    if (this.oversize) return;
    this.recordBytes += bytes;
    if (this.recordBytes > MAX_RECORD_BYTES) {
      this.oversize = true;
      this.fail(`the record is larger than ${MAX_RECORD_BYTES} bytes (the most one record may take here)`);
      this.fields = [];
      this.field = null;
      this.capture = null;
      this.text = '';
    }
  }

  private isMarc(tag: SaxesTagNS): boolean {
    return tag.uri === '' || tag.uri === MARCXML_NAMESPACE;
  }

  private attr(tag: SaxesTagNS, name: string): string | undefined {
    // MARCXML's attributes are unprefixed (no namespace), so their qualified name is the key.
    return tag.attributes[name]?.value;
  }

  private fail(message: string): void {
    this.problem ??= message;
  }

  private open(tag: SaxesTagNS): void {
    if (!this.isMarc(tag)) return;
    const name = tag.local;
    if (name === 'record') {
      if (this.inRecord) return this.fail('a record inside a record');
      this.inRecord = true;
      this.recordOffset = this.parser.position - this.shift;
      this.leader = null;
      this.fields = [];
      this.problem = null;
      this.recordBytes = 2; // the directory's field terminator and the record terminator
      this.oversize = false;
      this.warnings = [];
      return;
    }
    if (!this.inRecord || this.oversize) return;
    switch (name) {
      case 'leader':
        this.startCapture('leader');
        return;
      case 'controlfield': {
        const t = this.tag(tag, 'controlfield');
        if (t === null) return;
        this.grow(FIELD_OVERHEAD);
        this.controlTag = t;
        this.startCapture('controlfield');
        return;
      }
      case 'datafield': {
        const t = this.tag(tag, 'datafield');
        if (t === null) return;
        const ind1 = this.indicator(t, tag, 'ind1');
        const ind2 = this.indicator(t, tag, 'ind2');
        if (ind1 === null || ind2 === null) return;
        this.grow(FIELD_OVERHEAD + 2);
        if (!this.oversize) this.field = { tag: t, ind1, ind2, subfields: [] };
        return;
      }
      case 'subfield': {
        if (!this.field) return this.fail('a subfield outside a datafield');
        const code = this.attr(tag, 'code');
        if (code === undefined || !SUBFIELD_CODE.test(code)) {
          return this.fail(`field ${this.field.tag}: a subfield with code ${shown(code)}`);
        }
        this.grow(2); // delimiter and code
        if (this.oversize) return;
        this.subfieldCode = code;
        this.startCapture('subfield');
        return;
      }
    }
  }

  /** The element's tag, a short numeric one given its leading zeros; null (and the record failed) if unusable. */
  private tag(tag: SaxesTagNS, element: string): string | null {
    const t = this.attr(tag, 'tag');
    if (this.lenient) {
      if (t === undefined || !ALMA_TAG.test(t))
        this.warnings.push(`a ${element} with tag ${shown(t)}, kept as it is`);
      return t ?? '';
    }
    if (t === undefined) {
      this.fail(`a ${element} without a tag attribute`);
      return null;
    }
    if (this.tagPattern.test(t)) return t;
    if (SHORT_NUMERIC_TAG.test(t)) {
      const padded = t.padStart(3, '0');
      this.warnings.push(`a ${element} with tag ${shown(t)} read as ${padded}`);
      return padded;
    }
    this.fail(`a ${element} with tag ${shown(t)}`);
    return null;
  }

  /** A missing or empty indicator is a blank; an invalid one fails the record (or, lenient, is kept). */
  private indicator(field: string, tag: SaxesTagNS, name: 'ind1' | 'ind2'): string | null {
    const value = this.attr(tag, name);
    if (value === undefined || value === '') return ' ';
    if (INDICATOR.test(value)) return value;
    if (this.lenient) {
      this.warnings.push(`field ${field}: ${name} ${shown(value)}, kept as it is`);
      return value;
    }
    this.fail(`field ${field}: ${name} ${shown(value)}`);
    return null;
  }

  private startCapture(kind: Capture): void {
    this.capture = kind;
    this.text = '';
  }

  private close(tag: SaxesTagNS): void {
    if (!this.isMarc(tag) || !this.inRecord) return;
    if (this.oversize && tag.local !== 'record') return;
    switch (tag.local) {
      case 'leader':
        if (this.capture === 'leader') this.leader = this.text;
        break;
      case 'controlfield':
        if (this.capture === 'controlfield' && this.controlTag !== null) {
          this.fields.push({ tag: this.controlTag, value: this.text });
        }
        this.controlTag = null;
        break;
      case 'subfield':
        if (this.capture === 'subfield' && this.field && this.subfieldCode !== null) {
          this.field.subfields.push({ code: this.subfieldCode, value: this.text });
        }
        this.subfieldCode = null;
        break;
      case 'datafield':
        if (this.field) this.fields.push(this.field);
        this.field = null;
        break;
      case 'record':
        this.finishRecord();
        return;
      default:
        return;
    }
    this.capture = null;
  }

  private finishRecord(): void {
    this.inRecord = false;
    this.lastRecordEnd = this.parser.position;
    this.index++;
    const index = this.index;
    const offset = this.recordOffset;
    if (this.leader === null) this.fail('no leader');
    else if (this.leader.length !== 24) this.fail(`the leader is ${this.leader.length} characters, not 24`);
    if (this.problem !== null) {
      this.results.push({ ok: false, index, offset, error: `record ${index}: ${this.problem}` });
    } else {
      if (this.recordBytes > ISO2709_MAX_BYTES) {
        this.warnings.push(
          `the record is ${this.recordBytes} bytes as ISO 2709 would count it, more than ISO 2709's ${ISO2709_MAX_BYTES}: it can be kept as MARCXML, not written as ISO 2709`,
        );
      }
      this.results.push({
        ok: true,
        index,
        offset,
        record: { leader: this.leader!, fields: this.fields },
        warnings: this.warnings,
      });
    }
    this.warnings = [];
    this.fields = [];
    this.field = null;
    this.capture = null;
  }

  /** The report for a document that cannot be read on (saxes' messages carry line and column). */
  fatalResult(): MarcReadResult {
    const index = this.index + 1;
    return {
      ok: false,
      index,
      offset: this.parser.position - this.shift,
      error: `the MARCXML ${this.fatal ?? 'cannot be read'}; reading stopped at record ${index}`,
    };
  }
}

/**
 * Strict streaming UTF-8: a character split across chunks is put back together, anything not UTF-8 stops the
 * reader (instead of silently becoming U+FFFD) with the byte range of the chunk that held it.
 */
class Utf8Input {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private offset = 0;

  constructor(private readonly c: MarcXmlCollector) {}

  /** The chunk's text, or null once it was not UTF-8 (the collector is then fatal). */
  decode(chunk: Uint8Array | undefined): string | null {
    const from = this.offset;
    const length = chunk?.byteLength ?? 0;
    this.offset += length;
    try {
      return chunk ? this.decoder.decode(chunk, { stream: true }) : this.decoder.decode();
    } catch {
      // The bad sequence may have started in the previous chunk (up to 3 bytes before this one).
      const start = Math.max(0, from - 3);
      const region = chunk ? `bytes ${start} to ${this.offset - 1}` : `the last bytes (before byte ${from})`;
      this.c.fatal ??= `is not valid UTF-8 (in ${region} of the file)`;
      return null;
    }
  }
}

/** The element that wraps the document so that a file of several `<record>` roots (no collection) reads. */
const WRAPPER = 'rto-records';
/** How much of the start of a document is looked at for its first element (declaration, comments, DOCTYPE). */
const PROLOGUE_LIMIT = 4096;

/**
 * Where the first element starts in the start of a document, past the declaration, processing instructions and
 * comments; `doctype` when a DOCTYPE (or anything but an element) comes first: the document is then not wrapped; `more` when the text seen so
 * far does not tell.
 */
function firstElement(text: string): number | 'doctype' | 'more' {
  let i = 0;
  for (;;) {
    i = text.indexOf('<', i);
    if (i === -1 || i + 1 >= text.length) return 'more';
    if (text.startsWith('<?', i) || text.startsWith('<!--', i)) {
      const end = text.indexOf(text[i + 1] === '?' ? '?>' : '-->', i + 2);
      if (end === -1) return 'more';
      i = end + 2;
      continue;
    }
    if (text.startsWith('<!', i)) return text.length - i < 9 ? 'more' : 'doctype';
    return /[A-Za-z_:]/.test(text[i + 1]!) ? i : 'doctype';
  }
}

/**
 * Reads MARCXML from a byte (or string) stream. Bytes are decoded as strict UTF-8. `offset` is the character
 * position just after the record's start tag (saxes counts characters, not bytes).
 *
 * A file of several `<record>` elements with no `<collection>` around them (not one XML document, but a common
 * way of writing records) is read as if they had one: the document is wrapped in an element of no namespace,
 * unless it has a DOCTYPE, which must precede the root.
 */
export async function* readMarcXml(input: ByteSource): AsyncGenerator<MarcReadResult> {
  const c = new MarcXmlCollector();
  const utf8 = new Utf8Input(c);
  let prologue: string | null = '';
  let wrapped = false;
  const feed = (text: string) => {
    if (prologue === null) return c.write(text);
    // A byte order mark or blank lines before `<?xml` are tolerated (saxes wants the declaration first).
    prologue = (prologue + text).replace(/^\uFEFF?\s*/, '');
    const root = firstElement(prologue);
    if (root === 'more' && prologue.length < PROLOGUE_LIMIT) return true;
    const head = prologue;
    prologue = null;
    if (typeof root === 'number') {
      wrapped = true;
      c.shift = WRAPPER.length + 2;
      return c.write(`${head.slice(0, root)}<${WRAPPER}>${head.slice(root)}`);
    }
    return c.write(head);
  };
  for await (const raw of input as AsyncIterable<Buffer | Uint8Array | string>) {
    const text = typeof raw === 'string' ? raw : utf8.decode(raw);
    if (text) feed(text);
    yield* c.results.splice(0);
    if (c.fatal !== null) {
      yield c.fatalResult();
      return;
    }
  }
  const tail = utf8.decode(undefined);
  if (tail) feed(tail);
  if (prologue !== null && c.fatal === null) {
    const head: string = prologue;
    prologue = null;
    if (head) c.write(head);
  }
  if (wrapped && c.fatal === null) c.write(`</${WRAPPER}>`);
  c.end();
  yield* c.results.splice(0);
  if (c.fatal !== null) yield c.fatalResult();
}

/** One Alma bib read: the record and what was odd in it (kept as it was). */
export interface AlmaBibReading {
  record: MarcRecord;
  warnings: string[];
}

/**
 * Reads the MARCXML string of one Alma bib (`anies[0]` of the JSON answer, or a `<bib>…<record>…</record></bib>`
 * document). Alma declares encoding="UTF-16" on a string that is already decoded: the declaration is ignored.
 * Alma holds (and exports) fields that are not valid MARC, an empty tag or an indicator such as `§`: they are
 * kept exactly as they are, with a warning, so that the record can be written back unchanged. Throws when there
 * is no record or the XML is not well-formed.
 */
export function readAlmaBibXml(xml: string): AlmaBibReading {
  const c = new MarcXmlCollector(ALMA_TAG, true);
  if (c.write(xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml)) c.end();
  if (c.fatal !== null) throw new Error(`Alma bib XML ${c.fatal}`);
  const first = c.results[0];
  if (!first) throw new Error('Alma bib XML holds no MARC record');
  if (!first.ok) throw new Error(`Alma bib XML: ${first.error}`);
  return { record: first.record, warnings: first.warnings ?? [] };
}

/** readAlmaBibXml without the warnings. */
export function parseAlmaBibXml(xml: string): MarcRecord {
  return readAlmaBibXml(xml).record;
}
