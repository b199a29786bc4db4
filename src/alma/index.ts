/** The Alma REST client: typed calls, one error type (AlmaError), the key only in the Authorization header. */
export * from './client';
export { AlmaError, type AlmaErrorKind, parseErrorBody } from './errors';
export { poLineSchema, bibJsonSchema, type Coded } from './schemas';
