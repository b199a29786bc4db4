/**
 * A small XML reader and writer for Alma's payloads (error bodies, MARCXML bibs). saxes does the parsing;
 * this keeps a plain element tree with namespace prefixes dropped (Alma sends MARCXML with and without one).
 */
import { SaxesParser } from 'saxes';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/** Parses a whole document (declaration optional) into its root element; throws on malformed XML. */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: Error | undefined;
  parser.on('error', (e) => {
    failure ??= e;
  });
  parser.on('opentag', (tag) => {
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) {
      if (k !== 'xmlns' && !k.startsWith('xmlns:')) attrs[localName(k)] = typeof v === 'string' ? v : v.value;
    }
    const el: XmlElement = { name: localName(tag.name), attrs, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root ??= el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (t: string) => {
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  // Alma declares encoding="UTF-16" on strings that are really UTF-8/JS strings: the declaration is noise.
  parser.write(text.replace(/^\uFEFF/, '')).close();
  if (failure) throw failure;
  if (!root) throw new Error('no root element');
  return root;
}

export function elements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter(
    (c): c is XmlElement => typeof c !== 'string' && (name === undefined || c.name === name),
  );
}

/** Depth-first search for the first element with this name (the element itself included). */
export function findElement(el: XmlElement, name: string): XmlElement | undefined {
  if (el.name === name) return el;
  for (const c of elements(el)) {
    const found = findElement(c, name);
    if (found) return found;
  }
  return undefined;
}

export function textOf(el: XmlElement | undefined): string {
  if (!el) return '';
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

// Characters XML 1.0 cannot carry at all, even escaped: dropped rather than producing a broken document.
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escapes text for element content and attribute values (both quotes included). */
export function escapeXml(value: unknown): string {
  return String(value)
    .replace(INVALID_XML_CHARS, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
