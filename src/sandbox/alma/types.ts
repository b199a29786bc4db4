/** What a sandbox endpoint handler receives and returns. */
import type { InstitutionState } from './state';

export interface Ctx {
  inst: InstitutionState;
  query: URLSearchParams;
  body: string;
  contentType: string;
  now: number;
  /** http://host:port/almaws/v1, for the `link` fields. */
  apiBase: string;
  /** Tells the server that data changed (persist it). */
  changed(): void;
}

export interface Answer {
  status: number;
  /** JSON body (absent for 204). */
  json?: unknown;
  /** The XML rendering of the same data. */
  xml?: () => string;
}
