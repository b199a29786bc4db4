/** Every workflow the worker runs (the bundle's entry point). */
export { orderWorkflow } from './order/index';
export { ediPickupWorkflow, ediFileWorkflow } from './edi';
export { overlayWorkflow } from './overlay';
export { digestWorkflow } from './digest';
