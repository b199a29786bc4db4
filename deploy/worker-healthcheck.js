#!/usr/bin/env node
// Docker healthcheck of `rto worker`: healthy when the Temporal server lists a poller of this container on the
// main task queue. The SDK names a worker `<pid>@<hostname>` and every container has its own hostname, so a
// worker that lost its connection, or never started polling, turns the container unhealthy.
// Reads the same environment as the worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, RTO_TASK_QUEUE, and TLS, mTLS
// or an API key by the TEMPORAL_* settings), through the project's own connection module, so a secured cluster
// is checked exactly as the worker connects to it.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Connection } = require('@temporalio/client');

/** The project's settings and connection modules: the TypeScript in a checkout, the build in the image. */
function projectModules() {
  const root = path.join(__dirname, '..');
  if (fs.existsSync(path.join(root, 'src', 'config', 'settings.ts')) && !process.env.RTO_USE_DIST) {
    require('tsx/cjs');
    return {
      settings: require(path.join(root, 'src', 'config', 'settings.ts')),
      connection: require(path.join(root, 'src', 'temporal', 'connection.ts')),
    };
  }
  return {
    settings: require(path.join(root, 'dist', 'config', 'settings.js')),
    connection: require(path.join(root, 'dist', 'temporal', 'connection.js')),
  };
}

// temporal.api.enums.v1.TaskQueueType: either kind of poller proves the worker is alive (a worker whose
// activity slots are all busy stops polling activities, but still polls workflow tasks).
const TASK_QUEUE_TYPES = [1 /* WORKFLOW */, 2 /* ACTIVITY */];
const TIMEOUT_MS = 5000;

async function check(env) {
  const modules = projectModules();
  const settings = modules.settings.loadSettings(env);
  const address = settings.TEMPORAL_ADDRESS;
  const namespace = settings.TEMPORAL_NAMESPACE;
  const taskQueue = settings.RTO_TASK_QUEUE;
  const suffix = `@${os.hostname()}`;
  const connection = await Connection.connect({
    ...modules.connection.temporalConnectionOptions(settings),
    connectTimeout: TIMEOUT_MS,
  });
  try {
    for (const taskQueueType of TASK_QUEUE_TYPES) {
      const res = await connection.withDeadline(Date.now() + TIMEOUT_MS, () =>
        connection.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue },
          taskQueueType,
        }),
      );
      if ((res.pollers || []).some((p) => typeof p.identity === 'string' && p.identity.endsWith(suffix))) {
        return { healthy: true, reason: `polling ${taskQueue} on ${address}` };
      }
    }
    return {
      healthy: false,
      reason: `no poller of this container (${suffix}) on ${taskQueue} at ${address}`,
    };
  } finally {
    await connection.close();
  }
}

check(process.env).then(
  ({ healthy, reason }) => {
    process.stdout.write(`${healthy ? 'healthy' : 'unhealthy'}: ${reason}\n`);
    process.exitCode = healthy ? 0 : 1;
  },
  (e) => {
    process.stdout.write(`unhealthy: ${e && e.message ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
