/** Reading a MARC file from disk, ISO 2709 or MARCXML, detected from its first non-blank byte. */
import { createReadStream, promises as fsp } from 'node:fs';
import { readIso2709, type Iso2709Options } from './iso2709-read';
import { readMarcXml } from './marcxml-read';
import type { MarcReadResult } from './record';

/** Chunk size for reading: bounds memory whatever the file size. */
const HIGH_WATER_MARK = 64 * 1024;

export type MarcFileFormat = 'iso2709' | 'marcxml';

/** `marcxml` when the first byte that is not blank (after a UTF-8 byte order mark) is `<`. */
export async function detectMarcFormat(path: string): Promise<MarcFileFormat> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let i = 0;
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
    while (i < bytesRead && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d)) i++;
    return i < bytesRead && buf[i] === 0x3c ? 'marcxml' : 'iso2709';
  } finally {
    await fh.close();
  }
}

/** `encoding` applies to ISO 2709; MARCXML is read as the XML it is (UTF-8). */
export type ReadMarcFileOptions = Iso2709Options;

export interface MarcFileSniff {
  format: MarcFileFormat;
  /** Null when the start of the file looks like MARC; otherwise why it is not MARC. */
  notMarc: string | null;
}

/**
 * Whether a file is MARC at all, from its first bytes: ISO 2709 starts (after blank bytes) with a leader, five
 * digits of record length and the base address at 12-16 or the entry map `45` at 20-21; MARCXML has a `record`
 * element within its first 64 KB.
 */
export async function sniffMarcFile(path: string): Promise<MarcFileSniff> {
  const format = await detectMarcFormat(path);
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    if (format === 'marcxml') {
      const text = head.toString('utf8');
      return {
        format,
        notMarc: /<([A-Za-z_][\w.-]*:)?record[\s>/]/.test(text)
          ? null
          : 'an XML document with no MARC record element',
      };
    }
    let i = 0;
    while (i < head.length && [0x0a, 0x0d, 0x20, 0x09, 0x00, 0x1a].includes(head[i]!)) i++;
    const at = head.subarray(i);
    if (at.length === 0) return { format, notMarc: 'empty' };
    const digits = (from: number, to: number) => /^[0-9]+$/.test(at.toString('latin1', from, to));
    const leader =
      at.length >= 24 && digits(0, 5) && (digits(12, 17) || at.toString('latin1', 20, 22) === '45');
    if (leader) return { format, notMarc: null };
    const start = at.toString('latin1', 0, 24).replace(/[^\x20-\x7e]/g, '?');
    return {
      format,
      notMarc: `neither ISO 2709 (no leader at its start: ${JSON.stringify(start)}) nor MARCXML`,
    };
  } finally {
    await fh.close();
  }
}

/** Streams the records of a file, whichever format it is in. */
export async function* readMarcFile(
  path: string,
  opts: ReadMarcFileOptions = {},
): AsyncGenerator<MarcReadResult> {
  const format = await detectMarcFormat(path);
  const stream = createReadStream(path, { highWaterMark: HIGH_WATER_MARK });
  try {
    yield* format === 'marcxml' ? readMarcXml(stream) : readIso2709(stream, opts);
  } finally {
    stream.destroy();
  }
}
