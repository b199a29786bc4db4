/** MARC 21: the record model, ISO 2709 and MARCXML reading and writing, and the nightly overlay merge. */
export * from './record';
export { readIso2709, parseIso2709Record, MARC8_ADVICE, type ByteSource } from './iso2709-read';
export { writeIso2709 } from './iso2709-write';
export { readMarcXml, parseAlmaBibXml, MARCXML_NAMESPACE } from './marcxml-read';
export { toMarcXml, toMarcXmlCollection, toAlmaBibXml, type MarcXmlOptions } from './marcxml-write';
export { escapeXml, stripIllegalXmlChars } from './xml-text';
export { readMarcFile, detectMarcFormat, type MarcFileFormat } from './read-file';
export * from './overlay';
