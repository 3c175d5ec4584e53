/** Shared assertion for the schema tests: a 400 in the gateway's envelope, naming the field. */
import { expect } from 'vitest';
import { GatewayError } from '../../../gateway/errors.js';

export interface Rejection {
  param: string | null;
  code?: string;
  message?: string | RegExp;
}

export function expectRejection(fn: () => unknown, want: Rejection): GatewayError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a GatewayError 400').toBeInstanceOf(GatewayError);
  const err = caught as GatewayError;
  expect(err.status).toBe(400);
  expect(err.type).toBe('invalid_request_error');
  expect(err.param).toBe(want.param);
  if (want.code !== undefined) expect(err.code).toBe(want.code);
  if (typeof want.message === 'string') expect(err.message).toBe(want.message);
  else if (want.message) expect(err.message).toMatch(want.message);
  // Clear English that names the field, with nothing of zod's wording or internals.
  if (want.param !== null) expect(err.message.startsWith(want.param)).toBe(true);
  expect(err.message).not.toMatch(/zod|Invalid input|received|\bat Object\.|\n/i);
  return err;
}
