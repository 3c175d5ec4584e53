/**
 * @module app-env
 * The Hono environment every route shares: Node bindings (the raw request and response, which the
 * inference routes use directly for speed) and the per-request variables.
 */
import type { HttpBindings } from '@hono/node-server';
import type { ApiKey } from './auth/keys.js';
import type { RequestRecord } from './observability/request-record.js';

export type AppEnv = {
  Bindings: HttpBindings;
  Variables: { rec: RequestRecord; principal: ApiKey };
};
