/** EDIFACT for the library book trade: reader, writer, ORDRSP and INVOIC semantics. */
export {
  MAX_MESSAGE_BYTES,
  parseEdifact,
  readEdifact,
  type ByteSource,
  type EdifactItem,
  type ParseOptions,
} from './edifact';
export { EdifactError, type EdifactLocation } from './errors';
export type * from './types';
export { detectMessages, type DetectedMessage } from './detect';
export {
  readOrderResponseMessage,
  readOrderResponses,
  type OrderResponse,
  type OrderResponseLine,
} from './ordrsp';
export {
  deriveStatus,
  describeStatus,
  VENDOR_STATUSES,
  type VendorStatus,
  type StatusInput,
} from './ordrsp-status';
export {
  readInvoiceMessage,
  readInvoices,
  reconcile,
  type Amount,
  type ChargeLevel,
  type Invoice,
  type InvoiceCharge,
  type InvoiceKind,
  type InvoiceLine,
  type InvoiceLineCharge,
  type Reconciliation,
  type UnitPrice,
} from './invoic';
export {
  buildInvoice,
  buildOrderResponse,
  escapeEdifact,
  type EnvelopeInput,
  type InvoiceChargeInput,
  type InvoiceInput,
  type InvoiceLineInput,
  type InvoiceTotals,
  type OrderResponseInput,
  type OrderResponseLineInput,
} from './write';
export type { LineReference } from './values';
