/**
 * @module state/ids
 * Object ids in OpenAI's style: a type prefix and random hex (`resp_…`, `msg_…`, `fc_…`, `conv_…`).
 * 24 random bytes: ids are unguessable, so an id is never a way into another key's objects (the store
 * also checks the owner).
 */
import { randomBytes } from 'node:crypto';

export type IdPrefix = 'resp' | 'msg' | 'fc' | 'fco' | 'conv' | 'item';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}
