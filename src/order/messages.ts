/** Signals, queries and updates of the order workflow: defined once, used by the workflow and the client. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  CancelRequest,
  InvoiceNews,
  OrderStatus,
  RecordOverlaidNews,
  ReleaseRequest,
  VendorStatusNews,
} from '../order/types';

export const statusQuery = defineQuery<OrderStatus>('status');
export const vendorStatusSignal = defineSignal<[VendorStatusNews]>('vendorStatus');
export const invoiceSignal = defineSignal<[InvoiceNews]>('invoice');
export const recordOverlaidSignal = defineSignal<[RecordOverlaidNews]>('recordOverlaid');
/** Fire-and-forget cancellation (e.g. from OASIS). */
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
/** Cancellation that answers with the order's status once the cancellation has been taken in. */
export const cancelUpdate = defineUpdate<OrderStatus, [CancelRequest]>('cancelOrder');
/** Staff let a HELD order (possible duplicate) go on to ORDERING; answers once it has left HELD. */
export const releaseUpdate = defineUpdate<OrderStatus, [ReleaseRequest]>('release');
