/** VALIDATING: the contract and the account's rules, again (the workflow is the authority); REJECTED ends it. */
import { ApplicationFailure } from '@temporalio/workflow';
import { Isbn } from '../../../order/search-attributes';
import type { OrderPlan } from '../../../order/types';
import { endFailed, messageOf } from '../endings';
import { validateOrderActivity, validateOrderLocally } from '../proxies';
import type { OrderState } from '../state';

export async function validating(o: OrderState): Promise<OrderPlan> {
  let outcome;
  try {
    // A pure check of the order against the worker's configuration: a local activity (one marker in the history,
    // no round trip through a task queue) for lean orders; older ones replay the activity they scheduled.
    outcome = await (o.lean ? validateOrderLocally : validateOrderActivity)(o.input.order);
  } catch (err) {
    // Validation is pure, so only a lost or overloaded worker fails it, every attempt: the order must not stay
    // in VALIDATING with nobody told. It ends FAILED (nothing was created), so OASIS may place it again.
    return endFailed(
      o,
      { kind: 'validation-failed', message: `the order could not be validated: ${messageOf(err)}` },
      'VALIDATION_FAILED',
      `order ${o.input.orderId} could not be validated (nothing was created in Alma): ${messageOf(err)}`,
    );
  }
  if (!outcome.ok) {
    o.status.problems = outcome.problems;
    o.setStage('REJECTED');
    // Ending as a failure lets a corrected order be placed again under the same id (ALLOW_DUPLICATE_FAILED_ONLY).
    throw ApplicationFailure.create({
      type: 'OrderRejected',
      nonRetryable: true,
      message: outcome.problems.map((pr) => `${pr.path}: ${pr.message}`).join('; '),
      details: [o.status],
    });
  }
  const plan = outcome.plan;
  o.plan = plan;
  const { order } = plan;
  const s = o.status;
  s.quantityOrdered = order.quantity;
  s.price = { ...order.listPrice };
  s.funds = order.fundDistribution.map((f) => f.fund);
  if (order.location) s.location = `${order.location.library}/${order.location.shelvingLocation}`;
  const notes = [order.notes?.vendor, order.notes?.receiving, order.notes?.internal].filter((n) => n?.trim());
  if (notes.length) s.notes = notes.join(' | ');
  if (order.item.isbn) o.setAttribute({ key: Isbn, value: order.item.isbn });
  return plan;
}
