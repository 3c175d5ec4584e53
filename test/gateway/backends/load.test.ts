import { describe, expect, it } from 'vitest';
import { computeLoad, type VllmReading } from '../../../gateway/backends/load.js';

const reading = (r: Partial<VllmReading>): VllmReading => ({ running: 0, waiting: 0, kvCacheUsage: null, at: 1_000, inFlightAtScrape: 0, ...r });
const INTERVAL = 500;

describe('computeLoad: vLLM running + waiting, corrected by our in-flight changes since the scrape', () => {
  it('without a reading: our in-flight over maxConcurrent', () => {
    expect(computeLoad(undefined, 8, 32, 0, INTERVAL)).toBe(0.25);
  });

  it("counts other clients' requests that vLLM reports", () => {
    // vLLM runs 10 and queues 6; we had 4 of those in flight then and still have 4.
    expect(computeLoad(reading({ running: 10, waiting: 6, inFlightAtScrape: 4 }), 4, 32, 1_100, INTERVAL)).toBe(16 / 32);
  });

  it('adds what we started since the scrape and removes what we finished', () => {
    const r = reading({ running: 10, waiting: 0, inFlightAtScrape: 4 });
    expect(computeLoad(r, 9, 32, 1_100, INTERVAL)).toBe(15 / 32);
    expect(computeLoad(r, 1, 32, 1_100, INTERVAL)).toBe(7 / 32);
  });

  it('is never below our own in-flight (vLLM had not seen our requests yet)', () => {
    const r = reading({ running: 0, waiting: 0, inFlightAtScrape: 5 });
    expect(computeLoad(r, 3, 32, 1_100, INTERVAL)).toBe(3 / 32);
  });

  it('ignores a reading older than three intervals', () => {
    const r = reading({ running: 30, waiting: 10, at: 1_000, inFlightAtScrape: 2 });
    expect(computeLoad(r, 2, 32, 1_000 + 3 * INTERVAL, INTERVAL)).toBe(40 / 32);
    expect(computeLoad(r, 2, 32, 1_000 + 3 * INTERVAL + 1, INTERVAL)).toBe(2 / 32);
  });
});
