/** EDIFACT for the library book trade: reader, writer, ORDRSP and INVOIC semantics. */
export { parseEdifact, type ParseOptions } from './edifact';
export { EdifactError, type EdifactLocation } from './errors';
export type * from './types';
export { detectMessages, type DetectedMessage } from './detect';
export { readOrderResponses, type OrderResponse, type OrderResponseLine } from './ordrsp';
export {
  deriveStatus,
  describeStatus,
  VENDOR_STATUSES,
  type VendorStatus,
  type StatusInput,
} from './ordrsp-status';
export {
  readInvoices,
  type Invoice,
  type InvoiceCharge,
  type InvoiceKind,
  type InvoiceLine,
  type InvoiceLineCharge,
  type InvoiceTotals,
} from './invoic';
export {
  buildInvoice,
  buildOrderResponse,
  escapeEdifact,
  type EnvelopeInput,
  type InvoiceChargeInput,
  type InvoiceInput,
  type InvoiceLineInput,
  type OrderResponseInput,
  type OrderResponseLineInput,
} from './write';
