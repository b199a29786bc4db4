/**
 * Inputs and outputs of the order's activities, and the failure types the workflow tells apart.
 * Workflows import this file for types only.
 */
import type { Order } from '../contract/order';
import type { OrderPlan } from '../workflows/order-types';

/** ApplicationFailure types thrown by activities. */
export const FailureType = {
  /** Alma refused the key: nothing will work until someone fixes the configuration. Not retried. */
  AlmaUnauthorised: 'AlmaUnauthorised',
  /** Alma refused the request as invalid (a 400 with a field error). Not retried. */
  AlmaInvalidRequest: 'AlmaInvalidRequest',
  /** The PO line number Alma gave is unknown to it (not retried). */
  AlmaNotFound: 'AlmaNotFound',
  /** Retryable: Alma busy, down, rate limited, or the daily budget is spent. */
  AlmaUnavailable: 'AlmaUnavailable',
  /** Retryable: the bib is not linked to the PO line yet (polling by retry). */
  BibNotLinked: 'BibNotLinked',
  /** Too many PO lines match to prove none exists for this order: posting could buy twice (not retried). */
  DuplicateCheckInconclusive: 'DuplicateCheckInconclusive',
  /** Configuration does not know the account (not retried). */
  UnknownAccount: 'UnknownAccount',
} as const;

export const NON_RETRYABLE = [
  FailureType.AlmaUnauthorised,
  FailureType.AlmaInvalidRequest,
  FailureType.AlmaNotFound,
  FailureType.UnknownAccount,
  FailureType.DuplicateCheckInconclusive,
];

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
