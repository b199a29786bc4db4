/**
 * MARC-in-JSON, the code4lib convention (Ross Singer's), as pymarc, marc4j and yaz-marcdump write it: `{"leader": "…", "fields": [{"001": "…"}, {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a":
 * "…"}]}}]}`, every string in Unicode Normalization Form C.
 */
import type { MarcRecord } from './record';
import { isControlField } from './record';

export type MarcJsonField = Record<
  string,
  string | { ind1: string; ind2: string; subfields: Record<string, string>[] }
>;

export interface MarcJson {
  leader: string;
  fields: MarcJsonField[];
}

const nfc = (s: string) => s.normalize('NFC');

export function toMarcJson(record: MarcRecord): MarcJson {
  return {
    leader: nfc(record.leader),
    fields: record.fields.map((f) =>
      isControlField(f)
        ? { [f.tag]: nfc(f.value) }
        : {
            [f.tag]: {
              ind1: nfc(f.ind1),
              ind2: nfc(f.ind2),
              subfields: f.subfields.map((s) => ({ [s.code]: nfc(s.value) })),
            },
          },
    ),
  };
}
