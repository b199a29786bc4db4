/**
 * The library sends its funds, locations and fund-location rules as spreadsheets; these read the CSV
 * exports (RFC 4180: quoted fields, doubled quotes, CRLF) with a header row naming the columns.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.some((v) => v.trim() !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((v) => v.trim() !== '')) rows.push(row);
  return rows;
}

/** Rows as objects keyed by the header's lower-cased names; throws naming a missing column. */
export function csvRecords(text: string, required: string[], where: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header)
    throw new Error(`${where}: the file is empty; expected a header row with ${required.join(', ')}`);
  const names = header.map((h) => h.trim().toLowerCase());
  for (const r of required) {
    if (!names.includes(r))
      throw new Error(`${where}: no "${r}" column in the header (found: ${names.join(', ')})`);
  }
  return rows.map((cells) => Object.fromEntries(names.map((n, i) => [n, (cells[i] ?? '').trim()])));
}
