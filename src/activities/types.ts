/** Inputs and outputs of the order's activities. Workflows import this file for types only. */
import type { Order } from '../contract/order';
import type { AlmaLineState, OrderPlan } from '../order/types';

export interface CreatePoLineInput {
  account: string;
  order: Order;
  /** The one bib the duplicate check found: Alma links the line to it instead of matching (maybe at random). */
  mmsId?: string;
}

/**
 * What one reading of a PO line says of its state. Alma creates a line asynchronously: an answer without a
 * status says nothing yet (`status` absent, `inReview` false), and must not be read as "active".
 */
export interface PoLineReading {
  /** The status code (Alma's PO line status table), absent when the answer had none. */
  status?: string;
  /** Alma's label of the status, when given. */
  statusDesc?: string;
  /** Whether the status is one of the institution's In Review codes. */
  inReview: boolean;
  /** Alma's alerts on the PO line (why it is In Review). */
  almaAlerts: string[];
  /** Whether the status is one of the institution's cancelled or closed codes. */
  cancelled?: boolean;
  closed?: boolean;
}

export interface CreatedPoLine extends PoLineReading {
  number: string;
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

export interface ReadPoLineInput {
  account: string;
  poLine: string;
}

export interface ConfirmationInput {
  plan: OrderPlan;
  poLine: string;
  mmsId?: string;
  inReview: boolean;
  /**
   * What Alma has said of the line so far (absent from workflows older than it): the mail says this, and says
   * "being processed" while Alma has said nothing.
   */
  alma?: AlmaLineState;
}

export type { StaffAlertInput } from '../mail/render';
