/**
 * The fault-marker grammar: `[[sim:NAME]]` / `[[sim:NAME=VALUE]]` in prompts, the same names as a list
 * in SimulatorOptions.fault / SIM_FAULT, and loud failures for anything not understood.
 */
import { describe, expect, it } from 'vitest';
import { applyFaultMarkers, FaultMarkerError, parseFaultOption, type FaultSpec } from '../../vllm/sim/faults.js';

function markers(text: string): FaultSpec {
  const spec: FaultSpec = {};
  applyFaultMarkers(spec, text);
  return spec;
}

describe('fault markers', () => {
  it('reads every marker anywhere in the text', () => {
    expect(markers('x [[sim:http=500]] y [[sim:shape=flat]]')).toEqual({ http: 500, shape: 'flat' });
    expect(markers('[[sim:ttft=30]][[sim:itl=0]][[sim:tokens=7]]')).toEqual({ ttftMs: 30, itlMs: 0, tokens: 7 });
    expect(markers('[[sim:reset-before-headers]] [[sim:reset-mid-stream]] [[sim:error-mid-stream]]')).toEqual({
      resetBeforeHeaders: true,
      resetMidStream: true,
      errorMidStream: true,
    });
    expect(markers('[[sim:hang]] [[sim:hang-after-headers]] [[sim:malformed-line]] [[sim:degenerate]]')).toEqual({
      hang: true,
      hangAfterHeaders: true,
      malformedLine: true,
      degenerate: true,
    });
  });

  it('ignores text without markers, and a later marker overrides an earlier one', () => {
    expect(markers('plain [sim:http=500] text')).toEqual({});
    expect(markers('[[sim:itl=5]] [[sim:itl=9]]')).toEqual({ itlMs: 9 });
  });

  it('rejects unknown names and bad values', () => {
    expect(() => markers('[[sim:explode]]')).toThrow(FaultMarkerError);
    expect(() => markers('[[sim:http=200]]')).toThrow(/300..599/);
    expect(() => markers('[[sim:http=abc]]')).toThrow(FaultMarkerError);
    expect(() => markers('[[sim:shape=round]]')).toThrow(/nested\|flat/);
    expect(() => markers('[[sim:tokens=0]]')).toThrow(FaultMarkerError);
    expect(() => markers('[[sim:itl=-1]]')).toThrow(FaultMarkerError);
    expect(() => markers('[[sim:hang=1]]')).toThrow(/takes no value/);
  });
});

describe('fault option (SimulatorOptions.fault, SIM_FAULT)', () => {
  it('accepts a bare list separated by commas or spaces, or markers', () => {
    expect(parseFaultOption('http=503,shape=empty')).toEqual({ http: 503, shape: 'empty' });
    expect(parseFaultOption('itl=50 tokens=8')).toEqual({ itlMs: 50, tokens: 8 });
    expect(parseFaultOption('[[sim:degenerate]]')).toEqual({ degenerate: true });
    expect(parseFaultOption(undefined)).toEqual({});
    expect(() => parseFaultOption('nonsense')).toThrow(FaultMarkerError);
  });
});
