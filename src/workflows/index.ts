/** Every workflow the worker runs (the bundle's entry point). */
export { orderWorkflow } from './order';
export { ediPickupWorkflow, ediFileWorkflow } from './edi';
export { overlayWorkflow } from './overlay';
