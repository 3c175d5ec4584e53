/**
 * @module bench/run
 * `node dist/scripts/bench/run.js [--smoke | --profile] [options]`: the benchmark of issue 5, then the
 * scenarios of issues 10-12 (several backends, the Redis store, the Responses API; cluster-plan.ts).
 *
 *   (no mode)   all five targets, all scenarios, 3 interleaved repeats, then the cluster scenarios; writes
 *               bench/results/latest.{md,json,svg}
 *   --smoke     gateway, bare Node proxy and direct on the two proxy-bound scenarios, and one 2-backend
 *               scale-out check (< 90 s); writes bench/results/tmp/smoke.*; exit 1 when the gateway's CPU
 *               ratio to the bare proxy is grossly off or 2 backends fall far below the ideal split
 *   --profile   the gateway and the bare proxy under `node --cpu-prof`; writes bench/results/profile.md and
 *               the .cpuprofile files under bench/results/tmp/profiles/
 * Options: --repeats N, --window-ms N, --scenarios a,b, --targets a,b (a partial run writes to
 * bench/results/tmp/partial.*), --out PREFIX, --max-ratio X (smoke bound, default 3), --keep-tmp,
 * --gateway-node-options=<flags> (NODE_OPTIONS for the gateway only, e.g. --gateway-node-options=--max-semi-space-size=1;
 * makes the run partial), --gateway-env=K=V,K=V (environment overrides for the gateway only, e.g.
 * --gateway-env=LOG_LEVEL=warn to price one feature; makes the run partial), --help.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { summariseScenario } from './aggregate.js';
import { renderChart } from './chart-svg.js';
import { DEFAULT_SMOKE_MAX_RATIO, gatewayChecks, smokeChecks } from './checks.js';
import { runCluster } from './cluster.js';
import { clusterChecks, clusterSmokeChecks, summariseCluster } from './cluster-checks.js';
import { renderCluster } from './cluster-report.js';
import { CLUSTER_IDS, CLUSTER_SCENARIOS, type ClusterId } from './cluster-plan.js';
import { summariseProfile, type CpuProfile } from './cpu-profile.js';
import { fullPlan, profilePlan, SCENARIO_IDS, SCENARIOS, smokePlan, type RunPlan, type ScenarioId } from './plan.js';
import { choosePlacement, pin } from './processes.js';
import { clockTicksPerSecond } from './proc-stat.js';
import { renderProfiles, type ProfiledRun } from './profile-report.js';
import { renderMarkdown } from './report-md.js';
import type { BenchResults } from './results.js';
import { runPlan } from './runner.js';
import { TARGET_IDS } from './targets.js';

/** A bad command line: printed with the usage, without a stack trace. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** The repository root: the directory holding package.json above dist/scripts/bench (or scripts/bench). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the repository root (package.json beside dist/); run `npm run build` first');
}

function git(root: string): BenchResults['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'gateway', 'vllm/sim', 'scripts/bench'], { cwd: root, encoding: 'utf8' });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

const list = <T extends string>(raw: string | undefined, allowed: readonly T[], what: string): T[] | undefined => {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new UsageError(`unknown ${what} "${item}"; one of ${allowed.join(', ')}`);
  return items as T[];
};

function planFromArgs(values: Record<string, string | boolean | undefined>): { plan: RunPlan; partial: boolean } {
  const plan = values.smoke ? smokePlan() : values.profile ? profilePlan() : fullPlan();
  const scenarios = list<string>(values.scenarios as string | undefined, [...SCENARIO_IDS, ...CLUSTER_IDS], 'scenario');
  if (scenarios) {
    plan.scenarios = scenarios.filter((id): id is ScenarioId => (SCENARIO_IDS as readonly string[]).includes(id)).map((id) => SCENARIOS[id]);
    plan.cluster = scenarios.filter((id): id is ClusterId => (CLUSTER_IDS as readonly string[]).includes(id)).map((id) => CLUSTER_SCENARIOS[id]);
  }
  const targets = list(values.targets as string | undefined, TARGET_IDS, 'target');
  if (targets) plan.targets = targets;
  if (values.repeats !== undefined) plan.repeats = Math.max(1, Number(values.repeats));
  if (values['window-ms'] !== undefined) plan.windowMs = Math.max(200, Number(values['window-ms']));
  const partial = [scenarios, targets, values.repeats, values['window-ms'], values['gateway-node-options'], values['gateway-env']].some((v) => v !== undefined);
  return { plan, partial };
}

const USAGE = `usage: node dist/scripts/bench/run.js [--smoke | --profile] [--repeats N] [--window-ms N]
  [--scenarios ${[...SCENARIO_IDS, ...CLUSTER_IDS].join(',')}] [--targets ${TARGET_IDS.join(',')}]
  [--out PREFIX] [--max-ratio X] [--keep-tmp] [--gateway-node-options=FLAGS] [--gateway-env=K=V,K=V]
(no mode: the full run, writes bench/results/latest.*; see the comment at the top of scripts/bench/run.ts)`;

/** `K=V,K=V` → { K: V }; names must look like environment variables. */
function parseEnvList(raw: string | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const env: Record<string, string> = {};
  for (const item of raw.split(',').filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || eq < 0) throw new UsageError(`--gateway-env: "${item}" is not NAME=value`);
    env[name] = item.slice(eq + 1);
  }
  return env;
}

const GATEWAY_SETUP = [
  'NODE_ENV=production, built from this checkout (`dist/gateway/main.js`)',
  'API key auth: API_KEYS=bench:sk-bench; every request carries the key',
  'request validation and normalisation (zod schemas; stream_options.include_usage forced on streams)',
  "admission control: MAX_CONCURRENT_REQUESTS and MAX_QUEUE set to the scenario's concurrency, so every request is admitted and counted",
  'rate limits on, set high enough never to refuse: RATE_LIMIT_RPM=100000000, RATE_LIMIT_TPM=10000000000',
  'Prometheus metrics recorded for every request (not scraped during the windows)',
  "logs at info, JSON, one line per request, written to a file (the process's stdout redirected to the run's scratch directory)",
  'usage read from every response and stream',
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean' },
      profile: { type: 'boolean' },
      repeats: { type: 'string' },
      'window-ms': { type: 'string' },
      scenarios: { type: 'string' },
      targets: { type: 'string' },
      out: { type: 'string' },
      'max-ratio': { type: 'string' },
      'keep-tmp': { type: 'boolean' },
      'gateway-node-options': { type: 'string' },
      'gateway-env': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    log(USAGE);
    return 0;
  }
  const root = repoRoot();
  const { plan, partial } = planFromArgs(values);
  const gatewayEnv = parseEnvList(values['gateway-env']);
  // Counted before the driver pins itself to one core (after that, availableParallelism() says 1).
  const cores = availableParallelism();
  const placement = choosePlacement();
  pin(process.pid, placement.upstreamCpu);
  const tmp = mkdtempSync(join(tmpdir(), 'vllm-gateway-bench-'));
  const resultsDir = join(root, 'bench', 'results');
  const scratch = join(resultsDir, 'tmp');
  mkdirSync(scratch, { recursive: true });
  const started = new Date();
  log(`benchmark (${plan.name}${partial ? ', partial' : ''}): ${placement.description}; scratch ${tmp}`);

  const cpuProfDir = plan.name === 'profile' ? join(scratch, 'profiles') : undefined;
  if (cpuProfDir) rmSync(cpuProfDir, { recursive: true, force: true });
  if (plan.name === 'profile') plan.targets = ['gateway', 'bare'];
  const gatewayNodeOptions = values['gateway-node-options'];
  const run = await runPlan({
    root,
    tmp,
    plan,
    placement,
    log,
    ...(cpuProfDir ? { cpuProfDir } : {}),
    ...(gatewayNodeOptions ? { gatewayNodeOptions } : {}),
    ...(gatewayEnv ? { gatewayEnv } : {}),
  });
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const cluster = await runCluster({
    root,
    tmp,
    plan,
    scenarios: plan.cluster,
    placement,
    log,
    ...(gatewayNodeOptions ? { gatewayNodeOptions } : {}),
    ...(gatewayEnv ? { gatewayEnv } : {}),
  });
  const loadAfter = loadavg()[0] ?? Number.NaN;
  if (!values['keep-tmp']) rmSync(tmp, { recursive: true, force: true });

  if (plan.name === 'profile') {
    const runs: ProfiledRun[] = run.profiles.map((p) => ({
      ...p,
      file: relative(root, p.file),
      summary: summariseProfile(JSON.parse(readFileSync(p.file, 'utf8')) as CpuProfile),
    }));
    const page = join(resultsDir, 'profile.md');
    const header = `# CPU profiles of the gateway and the bare Node proxy (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC)\n\nReproduce with \`node dist/scripts/bench/run.js --profile\` after \`npm run build\`. Each process ran alone on its core under \`node --cpu-prof\` for ${plan.windowMs / 1000} s of load (after ${plan.warmupMs / 1000} s of warm-up), commit \`${git(root).commit.slice(0, 10)}\`.`;
    writeFileSync(page, renderProfiles(runs, header));
    log(`wrote ${relative(root, page)}`);
    return 0;
  }

  const targets = plan.targets;
  const summaries = plan.scenarios.map((s) => summariseScenario(s.id, targets, run.windows));
  const maxRatio = Number(values['max-ratio'] ?? DEFAULT_SMOKE_MAX_RATIO);
  const clusterSummaries = summariseCluster(plan.cluster, cluster.windows);
  const smoke = plan.name === 'smoke' ? [...smokeChecks(summaries, maxRatio), ...clusterSmokeChecks(clusterSummaries)] : undefined;
  const results: BenchResults = {
    schema: 'vllm-gateway-bench/1',
    plan: { name: plan.name, repeats: plan.repeats, warmupMs: plan.warmupMs, windowMs: plan.windowMs, holdMs: plan.holdMs, targetWarmMs: plan.targetWarmMs },
    command: plan.name === 'smoke' ? 'npm run bench:smoke' : partial ? `node dist/scripts/bench/run.js ${process.argv.slice(2).join(' ')}` : 'npm run bench',
    startedAt: started.toISOString(),
    durationS: (Date.now() - started.getTime()) / 1000,
    machine: {
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cores,
      kernel: release(),
      node: process.versions.node,
      clockTicksPerSecond: clockTicksPerSecond(),
      placement: placement.description,
    },
    git: git(root),
    gatewaySetup: [
      ...GATEWAY_SETUP,
      ...(gatewayNodeOptions ? [`NODE_OPTIONS=${gatewayNodeOptions} (runtime flags under trial)`] : []),
      ...(gatewayEnv ? [`environment overrides under trial (they win over the lines above): ${values['gateway-env']}`] : []),
    ],
    targets: run.targets,
    scenarios: plan.scenarios,
    windows: run.windows,
    summaries,
    checks: plan.name === 'full' ? gatewayChecks(summaries) : [],
    ...(smoke ? { smoke: { maxRatio, checks: smoke, pass: smoke.every((c) => c.pass === true) } } : {}),
    ...(plan.cluster.length > 0
      ? {
          cluster: {
            scenarios: plan.cluster.map((s) => s.id),
            windows: cluster.windows,
            summaries: clusterSummaries,
            checks: plan.name === 'smoke' ? [] : clusterChecks(clusterSummaries, summaries),
            skipped: cluster.skipped,
            versions: cluster.versions,
            redisCommandStats: cluster.redisCommandStats,
            loadavg: { before: loadBefore, after: loadAfter },
          },
        }
      : {}),
  };
  const prefix = (values.out as string | undefined) ?? (plan.name === 'smoke' ? join(scratch, 'smoke') : partial ? join(scratch, 'partial') : join(resultsDir, 'latest'));
  mkdirSync(dirname(prefix), { recursive: true });
  const subtitle = `${results.machine.cores} cores, Node ${results.machine.node}, ${plan.repeats} interleaved repeats, ${started.toISOString().slice(0, 10)}`;
  writeFileSync(`${prefix}.json`, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(`${prefix}.svg`, renderChart(summaries, targets, subtitle));
  writeFileSync(`${prefix}.md`, renderMarkdown(results, `${basename(prefix)}.svg`, results.cluster ? renderCluster(results.cluster) : undefined));
  log(`wrote ${relative(root, prefix)}.{md,json,svg} in ${results.durationS.toFixed(0)} s`);
  for (const c of [...results.checks, ...(results.cluster?.checks ?? []), ...(smoke ?? [])]) {
    log(`  ${c.pass === undefined ? 'n/a ' : c.pass ? 'ok  ' : 'MISS'} ${c.label}: ${Number.isFinite(c.value) ? c.value.toFixed(2) : '–'} (${c.limit})`);
  }
  if (smoke && !results.smoke?.pass) {
    log('bench:smoke FAILED: the gateway regressed grossly against the bare Node proxy or the ideal 2-backend split (see above)');
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A mistake on the command line gets the usage, not a stack trace (parseArgs' own errors included).
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      log(`${(err as Error).message}\n${USAGE}`);
      process.exit(2);
    }
    log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
