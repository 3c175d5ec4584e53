/**
 * @module request-id
 * Which id a request carries: the client's `x-request-id`, else Function Compute's `x-fc-request-id`
 * (fc3.md 3.2), else a new one. A caller's id is accepted only if short and plain, because it is echoed
 * in headers, sent to vLLM (which builds its response id from it, vllm.md 1.3) and written to logs.
 */
import { randomUUID } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(clientId: string | undefined, fcId: string | undefined): string {
  if (clientId && SAFE_ID.test(clientId)) return clientId;
  if (fcId && SAFE_ID.test(fcId)) return fcId;
  return randomUUID().replaceAll('-', '');
}
