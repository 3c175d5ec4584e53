/**
 * @module sim
 * A stand-in for vLLM's OpenAI-compatible server (default Python front end), for development, the
 * gateway's tests, container tests (through cli.ts, as the `vllm` binary) and benchmarks. Its behaviour
 * follows /work/shared/reference/vllm.md; each module cites the section it implements.
 */
export { startSimulator, type Simulator } from './simulator.js';
export type { SimulatorOptions } from './options.js';
export type { SimRequestRecord, SimOutcome, SimRoute, SimStats } from './records.js';
export { simulatedText } from './text.js';
