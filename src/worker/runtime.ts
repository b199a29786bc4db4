/**
 * The SDK's own logs go through the project's pino logger (JSON or pretty like the rest), warnings and up.
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logging';

/**
 * `sdkMetricsAddress` (RTO_SDK_METRICS_ADDRESS, host:port): the runtime serves the SDK's own Prometheus metrics
 * there (`temporal_*`: pollers, task slots, schedule-to-start latencies), apart from the application's.
 */
export function installRuntime(logger: Logger, level: LogLevel = 'WARN', sdkMetricsAddress?: string): void {
  const sdk = logger.child({ part: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      // Alma task queues run activities only, by design: the SDK's warning about it is noise.
      if (entry.message.startsWith('No workflows registered')) return;
      const meta = { ...(entry.meta ?? {}) };
      const method =
        entry.level === 'ERROR'
          ? 'error'
          : entry.level === 'WARN'
            ? 'warn'
            : entry.level === 'INFO'
              ? 'info'
              : 'debug';
      sdk[method](meta, entry.message);
    }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: level === 'TRACE' ? 'TRACE' : 'WARN' }) },
      ...(sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: sdkMetricsAddress } } } : {}),
    },
  });
}
