/**
 * All activities, built once per worker from their dependencies (configuration, Alma access, mailer, ...).
 * Workflows import the `Activities` type only.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import type { AlmaAccess } from '../institution/alma-access';
import type { Logger } from '../logging';
import type { Mailer } from '../mail';
import { bibActivities } from './bib';
import { digestActivities } from './digest';
import { duplicateActivities } from './duplicates';
import { ediActivities } from './edi';
import { emailActivities } from './email';
import { overlayActivities } from './overlay';
import { poLineActivities } from './po-line';
import { poLineStateActivities } from './po-line-state';
import { validateActivities } from './validate';

export interface ActivityDeps {
  config: Config;
  alma: AlmaAccess;
  logger: Logger;
  mailer?: Mailer;
  /** For activities that signal or look up other workflows (EDI, overlay). */
  temporal?: Client;
  dataDir: string;
  /** The main task queue (Alma activities run on `<main>.alma.<institution>`). */
  taskQueue: string;
  /** The Temporal UI as staff open it (TEMPORAL_UI_URL), for the daily digest's links. */
  uiBaseUrl?: string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...validateActivities(deps),
    ...duplicateActivities(deps),
    ...poLineActivities(deps),
    ...poLineStateActivities(deps),
    ...bibActivities(deps),
    ...emailActivities(deps),
    ...ediActivities(deps),
    ...overlayActivities(deps),
    ...digestActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
