/**
 * @module proxy/json-depth
 * Refuses request bodies nested deeper than MAX_JSON_DEPTH, right after JSON.parse and before anything
 * else looks at them. JSON.parse itself copes with any depth, but everything after it that walks a value
 * (JSON.stringify for vLLM, logging, the simulator) recurses and overflows the stack on a few thousand
 * levels: a 5,000-deep array in an unknown field used to end as a 500 (issue 9).
 *
 * Cost: the walk visits containers only and returns at once on strings and numbers, so a chat body costs
 * one visit per message and content part, not per byte. The recursion is bounded by the limit itself.
 */
import { invalidRequest, type GatewayError } from '../errors.js';

/** Throws a 400 naming the limit and the field that exceeds it (`param`, e.g. `tools[0].function.parameters`). */
export function checkJsonDepth(value: unknown, maxDepth: number): void {
  if (typeof value !== 'object' || value === null) return;
  const path: Array<string | number> = [];
  if (tooDeep(value, 1, maxDepth, path)) throw depthError(path, maxDepth);
}

/** True when a container below `value` is deeper than `max`; `path` then holds the way to it (innermost first). */
function tooDeep(value: object, depth: number, max: number, path: Array<string | number>): boolean {
  if (depth > max) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && tooDeep(item, depth + 1, max, path)) {
        path.push(i);
        return true;
      }
    }
    return false;
  }
  for (const key in value) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null && tooDeep(item, depth + 1, max, path)) {
      path.push(key);
      return true;
    }
  }
  return false;
}

/**
 * The field to name: the first few steps of the path (`tools[0].function.parameters`,
 * `messages[0].content[0]`), stopping where a run of array indexes starts (`x` for `x[0][0][0]...`).
 */
function fieldOf(reversed: Array<string | number>): string | null {
  const steps = reversed.slice().reverse();
  let out = '';
  for (let i = 0; i < steps.length && i < 4; i++) {
    const step = steps[i]!;
    if (typeof step === 'number') {
      if (typeof steps[i + 1] === 'number') break;
      out += `[${step}]`;
    } else {
      out += out ? `.${step}` : step;
    }
  }
  return out ? out.slice(0, 200) : null;
}

function depthError(path: Array<string | number>, maxDepth: number): GatewayError {
  const param = fieldOf(path);
  return invalidRequest(
    `The request body is nested deeper than ${maxDepth} levels (MAX_JSON_DEPTH)${param ? ` at ${param}` : ''}; flatten that value.`,
    param,
    'json_too_deep',
  );
}
