/**
 * Failures with their message and stack trace encoded as a payload, so that the payload codec encrypts them
 * (an error can quote order data). Loaded by path: workflow code gets it through the bundle.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
