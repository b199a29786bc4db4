/**
 * The fast tier's Temporal: a local test server (`TestWorkflowEnvironment.createLocal`) on the project's own
 * Temporal CLI, with the project's search attributes registered, for workflow tests against fake activities.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import * as keys from '../../src/order/search-attributes';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { quietRuntime } from './system';

export async function startFastTierEnvironment(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const cli = findTemporalCli();
  if (!cli) throw new Error('no Temporal CLI: the global set-up obtains it');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      searchAttributes: Object.values(keys).filter((k) => typeof k === 'object' && 'name' in k) as never,
    },
  });
}
