/** MARC 21: the record model, ISO 2709 and MARCXML reading and writing, and the nightly overlay merge. */
export * from './record';
export {
  readIso2709,
  readIso2709Record,
  parseIso2709Record,
  type ByteSource,
  type Iso2709Options,
  type Iso2709Reading,
  type MarcEncoding,
} from './iso2709-read';
export { Marc8Decoder } from './marc8';
export { writeIso2709 } from './iso2709-write';
export {
  readMarcXml,
  readAlmaBibXml,
  parseAlmaBibXml,
  MARCXML_NAMESPACE,
  type AlmaBibReading,
} from './marcxml-read';
export { toMarcXml, toMarcXmlCollection, toAlmaBibXml, type MarcXmlOptions } from './marcxml-write';
export { escapeXml, stripIllegalXmlChars } from './xml-text';
export {
  readMarcFile,
  detectMarcFormat,
  sniffMarcFile,
  type MarcFileFormat,
  type MarcFileSniff,
  type ReadMarcFileOptions,
} from './read-file';
export * from './overlay';
export { toMarcJson, type MarcJson, type MarcJsonField } from './marc-json';
