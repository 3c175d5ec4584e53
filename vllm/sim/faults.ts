/**
 * @module sim/faults
 * Fault injection. A prompt selects faults with markers anywhere in its text, `[[sim:NAME]]` or
 * `[[sim:NAME=VALUE]]`, several allowed (`[[sim:http=500]] [[sim:shape=flat]]`). The same names, in the
 * same marker form or as a bare list (`http=503,shape=flat` / `itl=50 tokens=8`), come from
 * SimulatorOptions.fault or SIM_FAULT and apply to every request; a prompt's markers override them.
 *
 * Grammar: marker := "[[sim:" name ( "=" value )? "]]"; name := [a-z-]+; value := any text without "]".
 * An unknown name or a bad value in a prompt is answered with a 400 naming the marker, so a typo in a test
 * fails loudly instead of silently not injecting anything.
 */
import type { ErrorShape } from './errors.js';

export interface FaultSpec {
  /** Answer with this status before any header, body in `shape`. */
  http?: number;
  shape?: ErrorShape;
  resetBeforeHeaders?: boolean;
  resetMidStream?: boolean;
  errorMidStream?: boolean;
  hang?: boolean;
  hangAfterHeaders?: boolean;
  malformedLine?: boolean;
  degenerate?: boolean;
  ttftMs?: number;
  itlMs?: number;
  tokens?: number;
}

export class FaultMarkerError extends Error {
  override readonly name = 'FaultMarkerError';
}

const SHAPES: readonly ErrorShape[] = ['nested', 'flat', 'string', 'detail', 'empty', 'anthropic'];
const FLAGS = {
  'reset-before-headers': 'resetBeforeHeaders',
  'reset-mid-stream': 'resetMidStream',
  'error-mid-stream': 'errorMidStream',
  hang: 'hang',
  'hang-after-headers': 'hangAfterHeaders',
  'malformed-line': 'malformedLine',
  degenerate: 'degenerate',
} as const satisfies Record<string, keyof FaultSpec>;
const DURATIONS = { ttft: 'ttftMs', itl: 'itlMs' } as const satisfies Record<string, keyof FaultSpec>;

const MARKER_OPEN = '[[sim:';
const MARKER_RE = /\[\[sim:([^\]=]*)(?:=([^\]]*))?\]\]/g;

/** Applies one `name[=value]` to `spec`; throws FaultMarkerError when the name or value is not understood. */
export function applyFault(spec: FaultSpec, name: string, value: string | undefined): void {
  const where = value === undefined ? name : `${name}=${value}`;
  if (name in FLAGS) {
    if (value !== undefined) throw new FaultMarkerError(`simulator fault "${where}" takes no value`);
    spec[FLAGS[name as keyof typeof FLAGS]] = true;
    return;
  }
  if (name === 'http') {
    const status = parseNonNegativeInt(value);
    if (status === undefined || status < 300 || status > 599) throw new FaultMarkerError(`simulator fault "${where}" needs a status 300..599`);
    spec.http = status;
  } else if (name === 'shape') {
    if (!SHAPES.includes(value as ErrorShape)) throw new FaultMarkerError(`simulator fault "${where}" needs one of ${SHAPES.join('|')}`);
    spec.shape = value as ErrorShape;
  } else if (name in DURATIONS) {
    const ms = parseNonNegativeInt(value);
    if (ms === undefined) throw new FaultMarkerError(`simulator fault "${where}" needs milliseconds (an integer >= 0)`);
    spec[DURATIONS[name as keyof typeof DURATIONS]] = ms;
  } else if (name === 'tokens') {
    const n = parseNonNegativeInt(value);
    if (n === undefined || n < 1) throw new FaultMarkerError(`simulator fault "${where}" needs a token count >= 1`);
    spec.tokens = n;
  } else {
    throw new FaultMarkerError(`unknown simulator fault "${where}"`);
  }
}

/** Adds the markers found in `text` to `spec`. Cheap when there is none (one indexOf). */
export function applyFaultMarkers(spec: FaultSpec, text: string): void {
  if (!text.includes(MARKER_OPEN)) return;
  MARKER_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = MARKER_RE.exec(text)) !== null) applyFault(spec, m[1] ?? '', m[2]);
}

/** Parses SimulatorOptions.fault / SIM_FAULT: markers, or names separated by commas or spaces. */
export function parseFaultOption(text: string | undefined): FaultSpec {
  const spec: FaultSpec = {};
  if (!text || !text.trim()) return spec;
  if (text.includes(MARKER_OPEN)) {
    applyFaultMarkers(spec, text);
    return spec;
  }
  for (const item of text.split(/[\s,]+/)) {
    if (!item) continue;
    const eq = item.indexOf('=');
    applyFault(spec, eq < 0 ? item : item.slice(0, eq), eq < 0 ? undefined : item.slice(eq + 1));
  }
  return spec;
}

function parseNonNegativeInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
