/** Service-level facts: default separators, the UNA service string advice and the character sets. */
import { TextDecoder } from 'node:util';
import { own } from '../config/lookup';
import type { Separators } from './types';

/** Level A (and in practice every other level when there is no UNA): `:+.? '`. */
export const DEFAULT_SEPARATORS: Readonly<Separators> = Object.freeze({
  component: ':',
  element: '+',
  decimal: '.',
  release: '?',
  terminator: "'",
});

/** Level B defaults (ISO 9735 annex): information separators IS1/IS3/IS4 and no release character. */
export const LEVEL_B_SEPARATORS: Readonly<Separators> = Object.freeze({
  component: '\x1f',
  element: '\x1d',
  decimal: '.',
  release: '',
  terminator: '\x1c',
});

/**
 * Reads the six characters after "UNA": component, element, decimal mark, release, reserved (repetition
 * separator in syntax 4, ignored), terminator. A space as release character means "none".
 */
export function parseUna(six: string): Separators | string {
  if (six.length < 6) return 'UNA service string advice is cut short (it needs 6 characters after "UNA")';
  const [component, element, decimal, release, , terminator] = [...six] as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const seps: Separators = {
    component,
    element,
    decimal,
    release: release === ' ' ? '' : release,
    terminator,
  };
  const used = [component, element, terminator, seps.release].filter((c) => c !== '');
  if (new Set(used).size !== used.length)
    return `UNA service string advice "UNA${six}" uses one character for two roles`;
  if (decimal !== '.' && decimal !== ',') return `UNA decimal mark must be "." or ",", not "${decimal}"`;
  for (const c of used) {
    if (c.charCodeAt(0) > 0x7f) return `UNA separator "${c}" is not an ASCII character`;
    if (/[A-Za-z0-9]/.test(c)) return `UNA separator "${c}" is a letter or digit`;
  }
  return seps;
}

/** Decodes a byte range of the file into text. */
export type Decoder = (buf: Buffer, start: number, end: number) => string;

const latin1: Decoder = (buf, start, end) => buf.toString('latin1', start, end);

function textDecoder(label: string, fatal: boolean): Decoder {
  const d = new TextDecoder(label, { fatal });
  return (buf, start, end) => d.decode(buf.subarray(start, end));
}

/**
 * Syntax identifiers (UNB 0001) and their character sets. UNOA/UNOB are subsets of ISO 646 and UNOC is
 * ISO 8859-1, so all three decode as Latin-1 (Node's 'latin1' maps bytes 1:1, unlike WHATWG's
 * "iso-8859-1" label, which is really windows-1252). UNOD–UNOK are the other ISO 8859 parts; UNOW and
 * UNOY are UTF-8, decoded strictly so a mislabelled file is reported instead of turned into U+FFFD.
 */
const CHARSETS: Record<string, string> = {
  UNOA: 'latin1',
  UNOB: 'latin1',
  UNOC: 'latin1',
  UNOD: 'iso-8859-2',
  UNOE: 'iso-8859-5',
  UNOF: 'iso-8859-7',
  UNOG: 'iso-8859-3',
  UNOH: 'iso-8859-4',
  UNOI: 'iso-8859-6',
  UNOJ: 'iso-8859-8',
  UNOK: 'iso-8859-9',
  UNOW: 'utf-8',
  UNOY: 'utf-8',
};

export function decoderFor(syntaxId: string): Decoder | undefined {
  // The syntax id comes from the vendor's UNB: only the table's own entries count ("constructor" is not one).
  const charset = own(CHARSETS, syntaxId);
  if (charset === undefined) return undefined;
  if (charset === 'latin1') return latin1;
  return textDecoder(charset, true);
}

/** Used before the syntax is known: UNA and the UNB header are ASCII. */
export const asciiDecoder: Decoder = latin1;
