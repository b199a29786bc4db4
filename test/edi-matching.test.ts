/**
 * Which look-ups a line's references lead to, in the documented order, with every value checked against the
 * form of what it is looked up as before anything reaches Temporal (src/followup/order-lookup.ts).
 */
import { REFERENCE_ORDER, isOrderIdForm, isPoLineForm, planLookups } from '../src/followup/order-lookup';
import { archivedName } from '../src/followup/inbox';

test('the documented order: LI, SLI, PIA+1 SA, SNA/SNL, ON', () => {
  expect(REFERENCE_ORDER).toEqual(['LI', 'SLI', 'SA', 'SNA', 'SNL', 'ON']);
  const { lookups, refused } = planLookups([
    { qualifier: 'ON', value: 'PO-9' },
    { qualifier: 'SNL', value: 'S-2' },
    { qualifier: 'SA', value: 'OAS-77' },
    { qualifier: 'SLI', value: 'OAS-1' },
    { qualifier: 'LI', value: 'POL-1' },
    { qualifier: 'API', value: '8277061' },
  ]);
  expect(lookups.map((l) => `${l.reference.qualifier} ${l.as} ${l.value}`)).toEqual([
    'LI PO line POL-1',
    'SLI order id OAS-1',
    'SA order id OAS-77',
    'SA PO line OAS-77',
    'SNL order id S-2',
    'SNL PO line S-2',
    'ON PO line PO-9',
    'ON order id PO-9',
  ]);
  // Qualifiers that are no order reference (API: the vendor's account) are neither looked up nor refused.
  expect(refused).toEqual([]);
});

test('values not of the form are refused before any look-up: a 64 KB reference, PO/LINE, quotes, controls', () => {
  const huge = 'X'.repeat(65_536);
  const { lookups, refused } = planLookups([
    { qualifier: 'LI', value: huge },
    { qualifier: 'LI', value: '24/102' },
    { qualifier: 'SLI', value: "OAS' OR 1=1" },
    { qualifier: 'SLI', value: 'OAS\u001b[2J' },
    { qualifier: 'SLI', value: 'OAS-2' },
  ]);
  expect(lookups.map((l) => l.value)).toEqual(['OAS-2']);
  expect(refused.map((r) => r.value.slice(0, 10))).toEqual([
    'XXXXXXXXXX',
    '24/102',
    "OAS' OR 1=",
    'OAS\u001b[2J',
  ]);
  expect(isOrderIdForm('A'.repeat(64))).toBe(true);
  expect(isOrderIdForm('A'.repeat(65))).toBe(false);
  expect(isPoLineForm('POL-12345')).toBe(true);
  expect(isPoLineForm('-POL')).toBe(false);
});

test('at most 8 look-ups a line, each value once', () => {
  const refs = Array.from({ length: 30 }, (_, i) => ({ qualifier: 'SLI', value: `OAS-${i % 12}` }));
  const { lookups } = planLookups(refs);
  expect(lookups).toHaveLength(8);
  expect(new Set(lookups.map((l) => l.value)).size).toBe(8);
});

test('archived names fit in 255 bytes, keep the extension, and never cut a character', () => {
  const sha = 'ab'.repeat(32);
  expect(archivedName(sha, 'INV001.edi')).toBe('abababababababab-INV001.edi');
  expect(archivedName(sha, 'INV001.edi', 2)).toBe('abababababababab.2-INV001.edi');
  for (const name of ['n'.repeat(250) + '.edi', 'é'.repeat(127) + '.CEI', 'x'.repeat(255)]) {
    const a = archivedName(sha, name);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(255);
    expect(a.startsWith('abababababababab-')).toBe(true);
    expect(a).not.toContain('\ufffd');
    if (name.includes('.')) expect(a.endsWith(name.slice(name.lastIndexOf('.')))).toBe(true);
  }
});
