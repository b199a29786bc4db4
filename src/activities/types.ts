/** Inputs and outputs of the order's activities. Workflows import this file for types only. */
import type { Order } from '../contract/order';
import type { OrderPlan } from '../order/types';

export interface CreatePoLineInput {
  account: string;
  order: Order;
}

export interface CreatedPoLine {
  number: string;
  status: string;
  inReview: boolean;
  /** Alma's alerts on the PO line (why it is In Review). */
  almaAlerts: string[];
  /** True when the PO line already existed (an earlier attempt had committed). */
  found: boolean;
  almaCalls: number;
}

export interface CancelPoLineInput {
  account: string;
  poLine: string;
  reason?: string;
  comment?: string;
}

export interface ConfirmationInput {
  plan: OrderPlan;
  poLine: string;
  mmsId?: string;
  inReview: boolean;
}

export type { StaffAlertInput } from '../mail/render';
