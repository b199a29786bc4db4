/**
 * Links into the Temporal UI: its workflow list for the namespace, filtered by a visibility query on the
 * orders' search attributes (the same query `rto order list` runs), so staff open exactly what needs them.
 * The UI (2.x) takes the list's filter as its `query` parameter: /namespaces/<ns>/workflows?query=<query>.
 */
import type { Settings } from '../config/settings';
import { visibilityQuery, type OrderFilter } from './orders';

/** Where the UI is: TEMPORAL_UI_URL (production, e.g. behind a proxy), else the local UI on TEMPORAL_UI_PORT. */
export function uiBaseUrl(settings: Pick<Settings, 'TEMPORAL_UI_URL' | 'TEMPORAL_UI_PORT'>): string {
  return settings.TEMPORAL_UI_URL ?? `http://127.0.0.1:${settings.TEMPORAL_UI_PORT}`;
}

/** The UI's workflow list for `namespace`, filtered to the orders `filter` selects. */
export function workflowListUrl(base: string, namespace: string, filter: OrderFilter): string {
  return workflowQueryUrl(base, namespace, visibilityQuery(filter));
}

/** The UI's workflow list for `namespace`, filtered by any visibility query (the daily digest's links). */
export function workflowQueryUrl(base: string, namespace: string, query: string): string {
  const url = new URL(base);
  // A base with a path (a UI served under /temporal/) keeps it.
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = `${prefix}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  // encodeURIComponent (spaces as %20, not URLSearchParams' +): read back the same by any decoder.
  url.search = `query=${encodeURIComponent(query)}`;
  return url.toString();
}
