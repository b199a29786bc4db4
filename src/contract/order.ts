/**
 * The order OASIS hands over (docs/order-contract.md), as a zod schema. Unknown fields are errors:
 * a misspelt field would otherwise silently lose the librarian's data.
 */
import { z } from 'zod';

/** Digits after the decimal mark per currency (ISO 4217); unlisted currencies have 2. */
export const MINOR_DIGITS: Record<string, number> = {
  JPY: 0,
  KRW: 0,
  ISK: 0,
  CLP: 0,
  KWD: 3,
  BHD: 3,
  JOD: 3,
  OMR: 3,
  TND: 3,
};

// C0/C1 controls, DEL, the Unicode line/paragraph separators and the bidi embedding/override/isolate controls
// (U+202A-U+202E, U+2066-U+2069, which make text read differently from what it is): none belong in a title,
// a name or a code, and they break EDI, MARC, XML and mail headers downstream.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;
// The same for notes, which may have line breaks (LF or CRLF, not a lone CR).
const NOTE_CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]|\r(?!\n)/;

/** Whether one-line text holds a control character (line breaks included). */
export const hasControlCharacter = (s: string): boolean => CONTROL.test(s);
/** Whether multi-line text holds a control character other than a line break (LF or CRLF). */
export const hasNoteControlCharacter = (s: string): boolean => NOTE_CONTROL.test(s);

/** A one-line string field. */
const text = () => z.string().refine((s) => !hasControlCharacter(s), 'contains a control character');
const note = z
  .string()
  .max(2000, 'at most 2000 characters')
  .refine((s) => !hasNoteControlCharacter(s), 'contains a control character (only line breaks are allowed)');

export const orderSchema = z.strictObject({
  orderId: z
    .string()
    .min(1, 'required')
    .max(64, 'at most 64 characters')
    .regex(/^[A-Za-z0-9._-]+$/, 'may contain only letters A-Z a-z, digits, ".", "_" and "-"'),
  account: text().min(1, 'required').max(64, 'at most 64 characters'),
  orderType: z.enum(['firm', 'standing']).optional(),
  placedAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' }),
  placedBy: z.strictObject({
    name: text().min(1, 'required').max(200, 'at most 200 characters'),
    email: z.email('is not a valid email address'),
  }),
  item: z.strictObject({
    title: text().min(1, 'required').max(1000, 'at most 1000 characters'),
    author: text().max(500, 'at most 500 characters').optional(),
    isbn: text().max(40, 'at most 40 characters').optional(),
    publisher: text().max(500, 'at most 500 characters').optional(),
    publicationYear: z
      .number()
      .int('must be a whole year')
      .min(1450, 'must be 1450 or later')
      .refine((y) => y <= new Date().getUTCFullYear() + 1, 'may be at most next year')
      .optional(),
    edition: text().max(500, 'at most 500 characters').optional(),
    format: z.enum(['print', 'ebook'], 'must be "print" or "ebook"'),
  }),
  quantity: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(999, 'must be at most 999'),
  listPrice: z.strictObject({
    amount: z
      .string()
      .regex(/^\d{1,9}(\.\d+)?$/, 'must be a decimal number written as a string, e.g. "59.99"'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code, e.g. USD'),
  }),
  fundDistribution: z
    .array(
      z.strictObject({
        fund: text().min(1, 'required'),
        percent: z.number().gt(0, 'must be more than 0').max(100, 'must be at most 100'),
      }),
    )
    .min(1, 'needs at least one fund')
    .max(10, 'at most 10 funds'),
  location: z
    .strictObject({ library: text().min(1, 'required'), shelvingLocation: text().min(1, 'required') })
    .optional(),
  rush: z.boolean().optional(),
  notes: z
    .strictObject({ vendor: note.optional(), receiving: note.optional(), internal: note.optional() })
    .optional(),
  interestedUsers: z
    .array(
      z.strictObject({
        primaryId: text().min(1, 'required').max(255, 'at most 255 characters'),
        notifyOnReceiving: z.boolean().optional(),
        holdItem: z.boolean().optional(),
      }),
    )
    .max(10, 'at most 10 interested users')
    .optional(),
  emailConfirmation: z.boolean().optional(),
});

/** An order as OASIS sends it. */
export type OrderInput = z.infer<typeof orderSchema>;

/** An order after validation: ISBN stored as ISBN-13, defaults resolved from the account. */
export type Order = Omit<OrderInput, 'orderType' | 'rush' | 'emailConfirmation'> & {
  orderType: 'firm' | 'standing';
  rush: boolean;
  emailConfirmation: boolean;
};

/** One reason an order is refused: where (a JSON path such as `fundDistribution[0].fund`) and what. */
export interface Problem {
  path: string;
  message: string;
}

export const MAX_ORDER_BYTES = 64 * 1024;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(order)';
}
