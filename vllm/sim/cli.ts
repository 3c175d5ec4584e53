/**
 * @module sim/cli
 * `node dist/vllm/sim/cli.js serve <MODEL> [vLLM flags]`: the simulator as a stand-in for the `vllm`
 * binary in container tests. Defaults like vLLM: port 8000, all interfaces. It logs one line with its
 * routes at startup and one when ready. SIGTERM/SIGINT cut open streams without [DONE] (vLLM's default
 * --shutdown-timeout 0, vllm.md 1.1) and exit 0; engine death (SIM_ENGINE_DEATH_AFTER_MS) ends the
 * process with exit code 1 after SIM_DEATH_EXIT_MS, as the container of a dead vLLM stops.
 */
import { CliUsageError, parseServeArgs, USAGE, type ServeCommand } from './cli-args.js';
import { SIM_VLLM_VERSION } from './options.js';
import { routeSummary } from './server.js';
import { startSimulator, type Simulator } from './simulator.js';

function log(level: 'INFO' | 'WARNING' | 'ERROR', message: string): void {
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  process.stdout.write(`${level} ${stamp} [vllm-sim] ${message}\n`);
}

function parse(): ServeCommand {
  try {
    return parseServeArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`${USAGE}\nvllm serve: error: ${err.message}\n`);
    process.exit(2);
  }
}

function main(): void {
  const command = parse();
  if (command.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  for (const note of command.notes) log('INFO', note);
  let sim: Simulator;
  try {
    sim = startSimulator(command.options);
  } catch (err) {
    // A bad SIM_FAULT or an out-of-range knob: a usage error, not a crash.
    process.stderr.write(`vllm serve: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const served = command.options.servedModelNames?.join(', ') ?? 'default';
  log('INFO', `vLLM simulator ${SIM_VLLM_VERSION} for model ${command.options.model ?? 'default'} (served as ${served}); routes: ${routeSummary()}`);

  let engineDead = false;
  sim.events.once('engine-dead', () => {
    engineDead = true;
    log('ERROR', 'EngineCore encountered an issue (simulated engine death); the server will exit');
  });
  sim.events.once('closed', () => process.exit(engineDead ? 1 : 0));
  sim.ready.then(
    () => {
      const host = command.options.host ?? '0.0.0.0';
      log('INFO', `Starting vLLM API server 0 on http://${host.includes(':') ? `[${host}]` : host}:${sim.port} (simulator ready)`);
      const after = command.engineDeathAfterMs;
      if (after !== undefined) setTimeout(() => sim.killEngine(), after);
    },
    (err: unknown) => {
      log('ERROR', `could not listen: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );

  const stop = (signal: string): void => {
    log('INFO', `${signal} received: shutting down (open streams are cut)`);
    void sim.close();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main();
