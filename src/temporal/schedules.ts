/** Temporal Schedules for the follow-ups: EDI pick-ups and the nightly MARC overlay, per account. */
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';

export async function syncSchedules(_client: Client, _opts: { config: Config; taskQueue: string }): Promise<string[]> {
  return [];
}
