/** ISO 2709 writing (UTF-8, leader/09 = `a`), with every length and offset counted in bytes. */
import type { MarcRecord } from './record';
import { isControlField, withUnicodeLeader } from './record';

const FIELD_TERMINATOR = 0x1e;
const RECORD_TERMINATOR = 0x1d;
const MAX_FIELD_LENGTH = 9999;
const MAX_RECORD_LENGTH = 99999;

/** The three structural bytes would break the record if they appeared in data, so they are removed. */
function clean(text: string): string {
  return text.replace(/[\x1d\x1e\x1f]/g, ''); // eslint-disable-line no-control-regex
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Serialises a record; throws when a tag is not 3 characters or a field or the record is too long. */
export function writeIso2709(record: MarcRecord): Buffer {
  const bodies: Buffer[] = [];
  const directory: string[] = [];
  let offset = 0;
  for (const f of record.fields) {
    if (!/^[0-9A-Za-z]{3}$/.test(f.tag))
      throw new Error(`cannot write tag ${JSON.stringify(f.tag)}: tags have 3 characters`);
    let text: string;
    if (isControlField(f)) {
      text = clean(f.value);
    } else {
      text = (f.ind1 || ' ').slice(0, 1) + (f.ind2 || ' ').slice(0, 1);
      for (const sf of f.subfields) text += '\x1f' + clean(sf.code).slice(0, 1) + clean(sf.value);
    }
    const bytes = Buffer.from(text + '\x1e', 'utf8');
    if (bytes.length > MAX_FIELD_LENGTH)
      throw new Error(`field ${f.tag} is ${bytes.length} bytes; ISO 2709 allows ${MAX_FIELD_LENGTH}`);
    bodies.push(bytes);
    directory.push(f.tag + pad(bytes.length, 4) + pad(offset, 5));
    offset += bytes.length;
  }
  const base = 24 + directory.length * 12 + 1;
  const length = base + offset + 1;
  if (length > MAX_RECORD_LENGTH)
    throw new Error(`record is ${length} bytes; ISO 2709 allows ${MAX_RECORD_LENGTH}`);
  const l = withUnicodeLeader(record.leader);
  const leader = pad(length, 5) + l.slice(5, 10) + '22' + pad(base, 5) + l.slice(17, 20) + '4500';
  const out = Buffer.allocUnsafe(length);
  out.write(leader, 0, 'latin1');
  out.write(directory.join(''), 24, 'latin1');
  out[base - 1] = FIELD_TERMINATOR;
  let pos = base;
  for (const b of bodies) pos += b.copy(out, pos);
  out[pos] = RECORD_TERMINATOR;
  return out;
}
