/**
 * How a failed step is named, once, from the Alma client's error to what staff see. One table, used by the
 * activities (which turn an error into an ApplicationFailure of a type, retryable or not) and by the workflow
 * (which turns a failure of a type into the order's error and an alert). Free of I/O: workflows import it.
 */
import type { Alert } from './types';

/** ApplicationFailure types thrown by the activities. */
export const FailureType = {
  /** Alma refused the key: nothing will work until someone fixes the configuration. */
  AlmaUnauthorised: 'AlmaUnauthorised',
  /** Alma refused the request as invalid (a 400 with a field error). */
  AlmaInvalidRequest: 'AlmaInvalidRequest',
  /** The PO line number Alma gave is unknown to it. */
  AlmaNotFound: 'AlmaNotFound',
  /** Alma busy, down, rate limited, or the daily budget is spent: try again later. */
  AlmaUnavailable: 'AlmaUnavailable',
  /** The institution's daily API budget is spent: parked until a probe finds it back (not an outage). */
  AlmaBudgetSpent: 'AlmaBudgetSpent',
  /** The bib is not linked to the PO line yet (polling by retry). */
  BibNotLinked: 'BibNotLinked',
  /** Too many PO lines match to prove none exists for this order: posting could buy twice. */
  DuplicateCheckInconclusive: 'DuplicateCheckInconclusive',
  /** Configuration does not know the account. */
  UnknownAccount: 'UnknownAccount',
  /** No SMTP server is configured. */
  MailNotConfigured: 'MailNotConfigured',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** What a failure of a type means for the order. */
export interface FailureMeaning {
  /** Whether Temporal retries it (the activity's retry policy lists the others as non-retryable). */
  retryable: boolean;
  /** The order's error kind when it ends the order (OrderError.kind). */
  orderErrorKind: string;
  /** The alert raised when it ends (or holds up) the order. */
  alert: Alert;
}

export const FAILURES: Readonly<Record<FailureType, FailureMeaning>> = {
  AlmaUnauthorised: { retryable: false, orderErrorKind: 'unauthorised', alert: 'ALMA_UNAUTHORISED' },
  AlmaInvalidRequest: { retryable: false, orderErrorKind: 'invalid-request', alert: 'ALMA_REJECTED' },
  AlmaNotFound: { retryable: false, orderErrorKind: 'not-found', alert: 'ALMA_REJECTED' },
  AlmaUnavailable: { retryable: true, orderErrorKind: 'unavailable', alert: 'ALMA_UNAVAILABLE' },
  AlmaBudgetSpent: { retryable: true, orderErrorKind: 'unavailable', alert: 'ALMA_UNAVAILABLE' },
  BibNotLinked: { retryable: true, orderErrorKind: 'bib-late', alert: 'BIB_LATE' },
  DuplicateCheckInconclusive: {
    retryable: false,
    orderErrorKind: 'duplicate-check-inconclusive',
    alert: 'ALMA_UNAVAILABLE',
  },
  UnknownAccount: { retryable: false, orderErrorKind: 'unknown-account', alert: 'ALMA_REJECTED' },
  MailNotConfigured: { retryable: false, orderErrorKind: 'mail-not-configured', alert: 'EMAIL_FAILED' },
};

/** The failure types Temporal must not retry: the activities' retry policies list them. */
export const NON_RETRYABLE: string[] = Object.entries(FAILURES)
  .filter(([, m]) => !m.retryable)
  .map(([type]) => type);

/** The Alma client's error kinds (src/alma/errors.ts), each as the failure type an activity throws. */
export const ALMA_ERROR_FAILURE = {
  unauthorised: FailureType.AlmaUnauthorised,
  'invalid-request': FailureType.AlmaInvalidRequest,
  'not-found': FailureType.AlmaNotFound,
  'rate-limited': FailureType.AlmaUnavailable,
  // The institution's budget turns a daily-threshold answer into DailyBudgetExhausted before it gets here;
  // if one slipped through, it is an outage to wait out like the others.
  'daily-budget': FailureType.AlmaUnavailable,
  server: FailureType.AlmaUnavailable,
  network: FailureType.AlmaUnavailable,
} as const;

/** What an Alma failure carries for the order's error: Alma's code and tracking id (never the key). */
export interface AlmaFailureDetails {
  code?: string;
  trackingId?: string;
  kind?: string;
  status?: number;
}

/** Reads AlmaFailureDetails back from a failure's first detail, checking each field's type. */
export function almaFailureDetails(detail: unknown): AlmaFailureDetails {
  if (typeof detail !== 'object' || detail === null) return {};
  const str = (k: string): string | undefined => {
    const v: unknown = Reflect.get(detail, k);
    return typeof v === 'string' ? v : undefined;
  };
  const status: unknown = Reflect.get(detail, 'status');
  return {
    code: str('code'),
    trackingId: str('trackingId'),
    kind: str('kind'),
    status: typeof status === 'number' ? status : undefined,
  };
}

/** The meaning of a failure type (an unknown type, e.g. a worker lost for good, is an outage). */
export function meaningOf(type: string | null | undefined): FailureMeaning & { type: FailureType } {
  const t = isFailureType(type) ? type : FailureType.AlmaUnavailable;
  return { type: t, ...FAILURES[t] };
}

function isFailureType(type: string | null | undefined): type is FailureType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(FAILURES, type);
}
