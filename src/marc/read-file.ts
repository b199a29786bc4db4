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
