/** What every command needs: settings from the environment, the configuration, a logger, a Temporal client. */
import type { Client } from '@temporalio/client';
import { loadConfigFile } from '../config/load';
import { isLoopbackHost, type Config } from '../config/schema';
import { loadSettings, type Settings } from '../config/settings';
import { OrderClient } from '../client/orders';
import { createLogger, type Logger } from '../logging';
import { connectClient } from '../temporal/connection';

export interface CliContext {
  settings: Settings;
  config: Config;
  logger: Logger;
}

/** The embedded defaults point the example configuration at the local Alma sandbox. */
export function loadContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const settings = loadSettings(env);
  env.ALMA_GATEWAY ??= `http://127.0.0.1:${settings.ALMA_SANDBOX_PORT}/almaws/v1`;
  // The sandbox answers SRU on its API's origin (/view/sru/<institution code> is added): a loopback gateway (the
  // sandbox, here or a cluster's) gives the example configuration its SRU target too.
  const gateway = URL.canParse(env.ALMA_GATEWAY) ? new URL(env.ALMA_GATEWAY) : undefined;
  if (!env.ALMA_SRU && gateway && isLoopbackHost(gateway.hostname)) env.ALMA_SRU = gateway.origin;
  env.RTO_DATA_DIR ??= settings.RTO_DATA_DIR;
  const config = loadConfigFile(settings.RTO_CONFIG);
  const logger = createLogger({ level: settings.LOG_LEVEL });
  return { settings, config, logger };
}

export async function connectOrders(
  ctx: CliContext,
): Promise<{ orders: OrderClient; client: Client; close(): Promise<void> }> {
  const { client, close } = await connectClient(ctx.settings, { connectTimeoutMs: 5000 });
  return {
    client,
    orders: new OrderClient(client, { config: ctx.config, taskQueue: ctx.settings.RTO_TASK_QUEUE }),
    close,
  };
}
