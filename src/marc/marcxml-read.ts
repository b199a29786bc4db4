/**
 * MARCXML reading with saxes, streaming: `<collection>`, a lone `<record>` or Alma's `<bib><record>`, with the
 * MARC 21 slim namespace (default or prefixed, e.g. `marc:`) or none, attributes in any order (Alma writes
 * `ind1 ind2 tag`), empty subfields allowed. Elements in any other namespace are ignored.
 * A record that is well-formed XML but not a usable MARC record is reported as `{ok: false}` and reading goes
 * on; XML that is not well-formed stops the reader after reporting it, since nothing after it can be trusted.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { StringDecoder } from 'node:string_decoder';
import type { ByteSource } from './iso2709-read';
import type { DataField, MarcField, MarcReadResult, MarcRecord } from './record';

export const MARCXML_NAMESPACE = 'http://www.loc.gov/MARC21/slim';

type Capture = 'leader' | 'controlfield' | 'subfield' | null;

/** Builds records from saxes events; finished results are queued for the caller to take. */
class MarcXmlCollector {
  readonly results: MarcReadResult[] = [];
  /** Set once the XML is not well-formed. */
  fatal: string | null = null;
  private index = 0;
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

  constructor() {
    const p = this.parser;
    // After a well-formedness error saxes goes on parsing; nothing it reports then is kept.
    p.on('opentag', (tag) => {
      if (this.fatal === null) this.open(tag);
    });
    p.on('closetag', (tag) => {
      if (this.fatal === null) this.close(tag);
    });
    p.on('text', (t) => {
      if (this.capture) this.text += t;
    });
    p.on('cdata', (t) => {
      if (this.capture) this.text += t;
    });
    p.on('error', (err) => {
      if (this.fatal !== null) return;
      this.fatal = err.message;
      // On a mismatched end tag saxes closes the open elements (our record) before it reports the error:
      // that record was not closed properly, so it is withdrawn and the error is reported in its place.
      if (this.lastRecordEnd === this.parser.position && this.results.length > 0) {
        this.results.pop();
        this.index--;
      }
    });
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
      this.recordOffset = this.parser.position;
      this.leader = null;
      this.fields = [];
      this.problem = null;
      return;
    }
    if (!this.inRecord) return;
    switch (name) {
      case 'leader':
        this.startCapture('leader');
        return;
      case 'controlfield': {
        const t = this.attr(tag, 'tag');
        if (t === undefined) return this.fail('a controlfield without a tag attribute');
        this.controlTag = t;
        this.startCapture('controlfield');
        return;
      }
      case 'datafield': {
        const t = this.attr(tag, 'tag');
        if (t === undefined) return this.fail('a datafield without a tag attribute');
        this.field = {
          tag: t,
          ind1: indicator(this.attr(tag, 'ind1')),
          ind2: indicator(this.attr(tag, 'ind2')),
          subfields: [],
        };
        return;
      }
      case 'subfield': {
        if (!this.field) return this.fail('a subfield outside a datafield');
        const code = this.attr(tag, 'code');
        if (code === undefined || code.length !== 1) {
          return this.fail(`field ${this.field.tag}: a subfield with code ${JSON.stringify(code ?? null)}`);
        }
        this.subfieldCode = code;
        this.startCapture('subfield');
        return;
      }
    }
  }

  private startCapture(kind: Capture): void {
    this.capture = kind;
    this.text = '';
  }

  private close(tag: SaxesTagNS): void {
    if (!this.isMarc(tag) || !this.inRecord) return;
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
      this.results.push({ ok: true, index, offset, record: { leader: this.leader!, fields: this.fields } });
    }
    this.fields = [];
    this.field = null;
    this.capture = null;
  }

  /** The report for XML that is not well-formed (saxes' message carries line and column). */
  fatalResult(): MarcReadResult {
    const index = this.index + 1;
    return {
      ok: false,
      index,
      offset: this.parser.position,
      error: `the MARCXML is not well-formed (${this.fatal ?? 'unknown error'}); reading stopped at record ${index}`,
    };
  }
}

function indicator(value: string | undefined): string {
  return value === undefined || value === '' ? ' ' : value.slice(0, 1);
}

/**
 * Reads MARCXML from a byte (or string) stream. Bytes are decoded as UTF-8 with a streaming decoder, so a
 * character split across chunks is put back together. `offset` is the character position just after the
 * record's start tag (saxes counts characters, not bytes).
 */
export async function* readMarcXml(input: ByteSource): AsyncGenerator<MarcReadResult> {
  const c = new MarcXmlCollector();
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const raw of input as AsyncIterable<Buffer | Uint8Array | string>) {
    let text = typeof raw === 'string' ? raw : decoder.write(Buffer.isBuffer(raw) ? raw : Buffer.from(raw));
    if (first) {
      // A byte order mark or blank lines before `<?xml` are tolerated (saxes wants the declaration first).
      text = text.replace(/^\uFEFF?\s*/, '');
      first = text.length === 0;
    }
    if (text.length > 0) c.parser.write(text);
    yield* c.results.splice(0);
    if (c.fatal !== null) {
      yield c.fatalResult();
      return;
    }
  }
  const tail = decoder.end();
  if (tail) c.parser.write(tail);
  c.parser.close();
  yield* c.results.splice(0);
  if (c.fatal !== null) yield c.fatalResult();
}

/**
 * Parses the MARCXML string of one Alma bib (`anies[0]` of the JSON answer, or a `<bib>…<record>…</record></bib>`
 * document). Alma declares encoding="UTF-16" on a string that is already decoded: the declaration is ignored.
 * Throws when there is no record or it is not usable.
 */
export function parseAlmaBibXml(xml: string): MarcRecord {
  const c = new MarcXmlCollector();
  c.parser.write(xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml);
  if (c.fatal === null) c.parser.close();
  if (c.fatal !== null) throw new Error(`Alma bib XML is not well-formed: ${c.fatal}`);
  const first = c.results[0];
  if (!first) throw new Error('Alma bib XML holds no MARC record');
  if (!first.ok) throw new Error(`Alma bib XML: ${first.error}`);
  return first.record;
}
