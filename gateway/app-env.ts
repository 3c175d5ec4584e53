/**
 * @module app-env
 * The Hono environment every route shares: Node bindings (the raw request and response, which the
 * inference routes use directly for speed) and the per-request variables.
 */
import type { HttpBindings } from '@hono/node-server';
import type { ApiKey } from './auth/keys.js';
import type { Call } from './call/call.js';

export type AppEnv = {
  Bindings: HttpBindings;
  Variables: { call: Call; principal: ApiKey };
};
