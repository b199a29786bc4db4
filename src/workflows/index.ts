/** Every workflow the worker runs (the bundle's entry point). */
export { orderWorkflow } from './order';
