/**
 * @module sim/cli-args
 * `vllm serve`'s command line (vllm.md 8), so the simulator can stand in for the `vllm` binary:
 * `serve <MODEL> [--model M] [--host H] [--port P] [--served-model-name a [b ...]] [--max-model-len N]
 * [--max-num-seqs N] [--api-key K [K2 ...]] [--enable-auto-tool-choice] [--tool-call-parser P]
 * [--block-size N] [--num-gpu-blocks-override N] [--enable-prefix-caching | --no-enable-prefix-caching] ...`.
 * Every other `--flag [value]` of the real server is accepted and reported in `notes`, so the launch
 * script can pass --dtype, --gpu-memory-utilization, --enforce-eager and friends unchanged. Simulator
 * knobs come from SIM_* variables, read per process (so one instance of several can be the slow one):
 *   SIM_LOAD_MS, SIM_TTFT_MS, SIM_ITL_MS, SIM_OUTPUT_TOKENS, SIM_TOKENS_PER_CHUNK, SIM_DEATH_EXIT_MS (integers),
 *   SIM_PREFILL_MS_PER_TOKEN (a decimal), SIM_FAULT, SIM_ENGINE_DEATH_AFTER_MS; see options.ts for each.
 * VLLM_API_KEY applies when no --api-key is given (vllm.md 6).
 */
import type { SimulatorOptions } from './options.js';

export interface ServeCommand {
  help: boolean;
  options: SimulatorOptions;
  /** SIM_ENGINE_DEATH_AFTER_MS: kill the engine this long after ready. */
  engineDeathAfterMs: number | undefined;
  /** One line per accepted-but-ignored flag, for the startup log. */
  notes: string[];
}

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export const USAGE =
  'usage: vllm serve <MODEL> [--model M] [--host H] [--port P] [--served-model-name NAME [NAME ...]] [--max-model-len N]\n' +
  '                  [--max-num-seqs N] [--api-key KEY [KEY ...]] [--enable-auto-tool-choice] [--tool-call-parser P]\n' +
  '                  [--block-size N] [--num-gpu-blocks-override N] [--[no-]enable-prefix-caching] [other vLLM flags]\n' +
  'simulator knobs: SIM_LOAD_MS SIM_TTFT_MS SIM_ITL_MS SIM_PREFILL_MS_PER_TOKEN SIM_OUTPUT_TOKENS SIM_TOKENS_PER_CHUNK SIM_FAULT\n' +
  '                 SIM_DEATH_EXIT_MS SIM_ENGINE_DEATH_AFTER_MS';

/** Real vLLM flags that take no value, so the token after them is not swallowed as their value. */
const BOOLEAN_FLAGS = new Set([
  'enforce-eager', 'disable-log-requests', 'enable-log-requests', 'disable-log-stats', 'trust-remote-code',
  'enable-chunked-prefill', 'enable-request-id-headers', 'disable-fastapi-docs', 'enable-prompt-tokens-details', 'enable-server-load-tracking',
  'enable-force-include-usage', 'disable-frontend-multiprocessing', 'async-scheduling', 'enable-expert-parallel', 'disable-custom-all-reduce',
  'enable-lora', 'enable-sleep-mode', 'enable-tokenizer-info-endpoint', 'disable-uvicorn-access-log', 'enable-log-outputs', 'headless',
  'skip-tokenizer-init', 'enable-reasoning', 'return-tokens-as-token-ids', 'allow-credentials',
]);

/** --max-model-len auto / -1: the model's native context (32768 for Qwen2.5, vllm.md 8). */
const AUTO_MAX_MODEL_LEN = 32_768;

export function parseServeArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ServeCommand {
  const args = argv[0] === 'serve' ? argv.slice(1) : [...argv];
  const options: SimulatorOptions = { host: '0.0.0.0', port: 8000, enableAutoToolChoice: false };
  const notes: string[] = [];
  let positionalModel: string | undefined;
  let help = false;

  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (positionalModel !== undefined) throw new CliUsageError(`unrecognized argument: ${arg}`);
      positionalModel = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg.slice(2) : arg.slice(2, eq)).replace(/_/g, '-');
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    /** The values after the flag: the inline one, or the following tokens that are not flags. */
    const take = (many: boolean): string[] => {
      if (inline !== undefined) return [inline];
      const values: string[] = [];
      while (i + 1 < args.length && !(args[i + 1] as string).startsWith('--') && (many || values.length === 0)) values.push(args[++i] as string);
      if (values.length === 0) throw new CliUsageError(`argument --${name}: expected ${many ? 'at least one argument' : 'one argument'}`);
      return values;
    };
    switch (name) {
      case 'model':
        options.model = take(false)[0];
        break;
      case 'host':
        options.host = take(false)[0];
        break;
      case 'port':
        options.port = intArg(name, take(false)[0] as string);
        break;
      case 'served-model-name':
        options.servedModelNames = take(true);
        break;
      case 'max-model-len':
        options.maxModelLen = modelLen(take(false)[0] as string);
        break;
      case 'max-num-seqs':
        options.maxNumSeqs = intArg(name, take(false)[0] as string);
        break;
      case 'api-key':
        options.apiKeys = take(true);
        break;
      case 'enable-auto-tool-choice':
        options.enableAutoToolChoice = true;
        break;
      case 'block-size':
        options.blockSize = intArg(name, take(false)[0] as string);
        break;
      case 'num-gpu-blocks-override':
        options.kvCacheBlocks = intArg(name, take(false)[0] as string);
        break;
      case 'enable-prefix-caching':
        options.enablePrefixCaching = true;
        break;
      case 'no-enable-prefix-caching':
        options.enablePrefixCaching = false;
        break;
      case 'tool-call-parser':
        notes.push(`tool call parser "${take(false)[0] ?? ''}": the simulator answers tool calls in the hermes format`);
        break;
      default: {
        const valued = inline !== undefined || (!BOOLEAN_FLAGS.has(name) && !name.startsWith('no-') && i + 1 < args.length && !(args[i + 1] as string).startsWith('--'));
        const value = valued ? take(false)[0] : undefined;
        notes.push(`ignoring --${name}${value === undefined ? '' : ` ${value}`} (no effect on the simulator)`);
      }
    }
  }
  // vllm.md 8: with `vllm serve`, a positional model is taken over --model.
  if (positionalModel !== undefined) options.model = positionalModel;
  if (options.apiKeys === undefined && env.VLLM_API_KEY) options.apiKeys = [env.VLLM_API_KEY];
  applySimEnv(options, env);
  const death = env.SIM_ENGINE_DEATH_AFTER_MS;
  return { help, options, notes, engineDeathAfterMs: death === undefined || death === '' ? undefined : intArg('SIM_ENGINE_DEATH_AFTER_MS', death) };
}

function applySimEnv(options: SimulatorOptions, env: Readonly<Record<string, string | undefined>>): void {
  const knobs = [
    ['SIM_LOAD_MS', 'loadMs'], ['SIM_TTFT_MS', 'ttftMs'], ['SIM_ITL_MS', 'itlMs'], ['SIM_OUTPUT_TOKENS', 'outputTokens'],
    ['SIM_TOKENS_PER_CHUNK', 'tokensPerChunk'], ['SIM_DEATH_EXIT_MS', 'deathExitMs'],
  ] as const;
  for (const [variable, key] of knobs) {
    const raw = env[variable];
    if (raw !== undefined && raw !== '') options[key] = intArg(variable, raw);
  }
  const prefill = env.SIM_PREFILL_MS_PER_TOKEN;
  if (prefill !== undefined && prefill !== '') {
    if (!/^\d+(\.\d+)?$/.test(prefill.trim())) throw new CliUsageError(`SIM_PREFILL_MS_PER_TOKEN: expected a non-negative number, got "${prefill}"`);
    options.prefillMsPerToken = Number(prefill.trim());
  }
  if (env.SIM_FAULT) options.fault = env.SIM_FAULT;
}

function intArg(name: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new CliUsageError(`${name}: expected a non-negative integer, got "${raw}"`);
  return Number(raw.trim());
}

/** vLLM's human-readable lengths: 16384, 16k (×1000), 16K (×1024), 1m / 1M; auto or -1. */
function modelLen(raw: string): number {
  const v = raw.trim();
  if (v === 'auto' || v === '-1') return AUTO_MAX_MODEL_LEN;
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v);
  if (!m) throw new CliUsageError(`argument --max-model-len: invalid value "${raw}"`);
  const unit = m[2] ?? '';
  const factors: Record<string, number> = { '': 1, k: 1e3, K: 1024, m: 1e6, M: 1024 ** 2, g: 1e9, G: 1024 ** 3 };
  const value = Number(m[1]) * (factors[unit] ?? 1);
  if (!Number.isInteger(value) || value < 1) throw new CliUsageError(`argument --max-model-len: invalid value "${raw}"`);
  return value;
}
