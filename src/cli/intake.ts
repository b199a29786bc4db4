/** The HTTP intake of `rto start` and `rto http`: its token, and the server bound to the settings. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { intakeLimitsFromSettings, startHttpIntake } from '../client/http';
import { OrderClient } from '../client/orders';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import type { Settings } from '../config/settings';
import { AlmaAccess } from '../institution/alma-access';
import type { Logger } from '../logging';

/** Shortest bearer token the HTTP intake accepts: anything shorter can be guessed or was typed by hand. */
export const MIN_TOKEN_LENGTH = 32;

/**
 * The token the HTTP intake wants: from the environment, a file, or one generated and kept in the data dir
 * (created if need be). A token under 32 characters is refused, naming where it came from, never the token.
 */
export function intakeToken(
  settings: { RTO_HTTP_TOKEN?: string; RTO_HTTP_TOKEN_FILE?: string },
  dataDir: string,
): { token: string; where: string } {
  const checked = (token: string, where: string) => {
    if (token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError(
        `the HTTP intake token in ${where} is too short: at least ${MIN_TOKEN_LENGTH} characters are required ` +
          '(e.g. openssl rand -hex 24)',
      );
    return { token, where };
  };
  if (settings.RTO_HTTP_TOKEN) return checked(settings.RTO_HTTP_TOKEN, 'RTO_HTTP_TOKEN');
  if (settings.RTO_HTTP_TOKEN_FILE)
    return checked(readFileSync(settings.RTO_HTTP_TOKEN_FILE, 'utf8').trim(), settings.RTO_HTTP_TOKEN_FILE);
  const file = path.join(dataDir, 'http-token');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
  }
  return checked(readFileSync(file, 'utf8').trim(), file);
}

/** Starts the intake as the settings say; `where` tells where its token is. */
export async function startIntake(
  client: Client,
  o: { settings: Settings; config: Config; logger: Logger },
): Promise<{ url: string; where: string; close(): Promise<void> }> {
  const { token, where } = intakeToken(o.settings, path.resolve(o.settings.RTO_DATA_DIR));
  const orders = new OrderClient(client, { config: o.config, taskQueue: o.settings.RTO_TASK_QUEUE });
  const intake = await startHttpIntake({
    orders,
    config: o.config,
    limits: intakeLimitsFromSettings(o.settings),
    token,
    host: o.settings.RTO_HTTP_HOST,
    port: o.settings.RTO_HTTP_PORT,
    logger: o.logger,
    // For `POST /orders?dryRun=true&alma=true` only (read-only calls).
    alma: new AlmaAccess(o.config, o.logger),
  });
  return { url: intake.url, where, close: intake.close };
}
