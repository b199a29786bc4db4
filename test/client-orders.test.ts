/**
 * The client library's own rules, without a server: when an order has got to a stage, which reason codes an
 * account takes (looked up by a key from outside), and the workflow type name it starts.
 */
import { ORDER_WORKFLOW_TYPE, cancellationReasons, reached } from '../src/client/orders';
import { parseConfig } from '../src/config/load';
import type { ConfigFileInput } from '../src/config/schema';
import { STAGES, type Stage } from '../src/order/types';
import { exampleConfigRaw } from './harness/system';

describe('reached', () => {
  test('a stage on the way to COMPLETED counts for itself and every earlier one', () => {
    expect(reached('FOLLOWING_UP', 'FOLLOWING_UP')).toBe(true);
    expect(reached('COMPLETED', 'FOLLOWING_UP')).toBe(true);
    expect(reached('COMPLETED', 'COMPLETED')).toBe(true);
    expect(reached('CONFIRMING', 'ORDERING')).toBe(true);
    expect(reached('AWAITING_BIB', 'FOLLOWING_UP')).toBe(false);
    expect(reached('FOLLOWING_UP', 'COMPLETED')).toBe(false);
  });

  test.each(['CANCELLED', 'REJECTED', 'FAILED'] as const)(
    'an order that ended %s reached no stage but that one',
    (ended) => {
      for (const target of STAGES)
        expect([target, reached(ended, target)]).toEqual([target, target === ended]);
    },
  );

  test('waiting for CANCELLED: only CANCELLED is it', () => {
    const hits = STAGES.filter((s: Stage) => reached(s, 'CANCELLED'));
    expect(hits).toEqual(['CANCELLED']);
  });
});

describe('cancellationReasons', () => {
  const config = parseConfig(
    exampleConfigRaw('http://127.0.0.1:1/almaws/v1', '/tmp/rto-test') as ConfigFileInput,
  );

  test("an account's reason codes come from its configuration", () => {
    expect(cancellationReasons(config, 'UNIV-MAIN')).toEqual([
      config.accounts['UNIV-MAIN']!.alma.cancellationReason,
    ]);
  });

  test.each(['NO-SUCH-ACCOUNT', 'constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'an account that is not configured (%s) has none',
    (name) => {
      expect(cancellationReasons(config, name)).toBeUndefined();
    },
  );
});

test('the workflow type the client starts is the workflow function the workers register', () => {
  // Loaded here only: client code imports the workflow for its type, never its code.
  const { orderWorkflow } = require('../src/workflows') as typeof import('../src/workflows');
  expect(orderWorkflow.name).toBe(ORDER_WORKFLOW_TYPE);
});
