/**
 * @module soak/report-md
 * The soak's markdown report: what ran, the verdicts, then the figures behind each one.
 */
import type { SoakResults } from './results.js';

const mib = (b: number): string => (b / 1048576).toFixed(1);
const pct = (g: number): string => `${g >= 0 ? '+' : ''}${(g * 100).toFixed(1)}%`;

export function renderMarkdown(r: SoakResults, svgName: string): string {
  const out: string[] = [];
  const failed = r.checks.filter((c) => !c.pass);
  const a = r.accounting;
  out.push(`# Soak: nothing lost, nothing leaked (issue 11)`, '');
  out.push(`${failed.length === 0 ? '**All checks pass.**' : `**${failed.length} of ${r.checks.length} checks fail.**`} Run of ${r.startedAt}, ${r.durationS.toFixed(0)} s of load, commit \`${r.git.commit.slice(0, 12)}\`${r.git.dirty ? ' (with uncommitted changes)' : ''}, Node ${r.node}, seed ${r.options.seed}.`, '');
  out.push(`## Setup`, '');
  out.push(`- Two gateway replicas (${r.topology.replicas.join(', ')}), each a child process \`node --expose-gc --min-semi-space-size=16 --max-semi-space-size=16 --import dist/scripts/soak/gc-probe.js dist/gateway/main.js\` (the young generation pinned, so RSS growth means retained memory, not V8 growing new space: findings.md, finding 2), sharing one redis-server (rate limits), \`MAX_CONCURRENT_REQUESTS=8\` per backend.`);
  out.push(`- Three simulators (CLI, \`--max-num-seqs 8\`): ${r.topology.simulators.map((s) => `${s.name} at ${s.backend} (ITL ${s.itlMs} ms, TTFT ${s.ttftMs} ms)`).join('; ')}.`);
  out.push(`- ${r.options.concurrency} clients, round-robin over the replicas: 60% chat / 40% completions, 60% streamed (half of them with \`include_usage\`), max_tokens 8-48, ${r.options.abortShare * 100}% aborted mid-answer; keys ${r.topology.keys.map((k) => `${k.name} (${k.share * 100}%${k.rpm ? `, rpm=${k.rpm}` : ''}${k.tpm ? `, tpm=${k.tpm}` : ''})`).join(', ')}.`);
  if (r.kill) out.push(`- Fault: ${r.kill.backend} SIGKILLed at t+${r.kill.atS.toFixed(1)} s, started again on the same host:port, ready at t+${r.kill.restartedAtS.toFixed(1)} s.`);
  out.push(`- Memory sampled every ${r.options.sampleEveryS} s; the first ${r.options.warmupS} s are warm-up, excluded from the growth check.`, '');

  out.push(`## Verdicts`, '', '| Check | Verdict | Figures |', '|---|---|---|');
  for (const c of r.checks) out.push(`| ${c.name} | ${c.pass ? 'pass' : '**FAIL**'} | ${c.detail.replace(/\|/g, '\\|')} |`);
  out.push('');

  out.push(`## Requests`, '', `${r.requests.total} requests.`, '', '| Status (client view) | Requests |', '|---|---|');
  for (const [k, v] of Object.entries(r.requests.byStatus).sort()) out.push(`| ${k} | ${v} |`);
  out.push('', '| Kind and outcome | Requests |', '|---|---|');
  for (const [k, v] of Object.entries(r.requests.byOutcome).sort()) out.push(`| ${k} | ${v} |`);
  out.push('', `At the kill: ${r.failures.explained.length} answers failed in the expected shape (streams of the killed backend: a 200 ending in the gateway's \`upstream_stream_truncated\` error event, no [DONE]; non-streaming: 502/503). ${r.requests.failedOver} requests failed over before any byte and got a 200 (${r.requests.failedOverAtKill} of them in flight at the kill, the rest sent to the dead backend before the replicas ejected it). Unexplained failures: ${r.failures.unexplained.length}.`);
  for (const v of r.failures.unexplained.slice(0, 20)) out.push(`- \`${v.id}\`: ${v.shape}`);
  out.push('');

  out.push(`## Accounting`, '');
  out.push('What counts: the gateway adds to `gateway_tokens_total` the usage of every answer whose usage it read (a non-streaming 200, a stream that reached its usage chunk; the gateway asks vLLM for it on every stream). A simulator counts an answer as completed once it went out in full. Answers aborted by clients, and streams cut by the kill, have unknown usage on the gateway and are "aborted" or lost with the process at the simulator: neither side counts them. A non-streaming request cut by the kill fails over and is counted once, by the simulator that completed it.');
  out.push('', 'The SIGKILLed simulator loses its counters, so each simulator writes a ledger (scripts/soak/sim-ledger.ts): one synchronous line per ended request, with its x-request-id and the running totals of its own counter. The killed process\'s counters at its death are its last ledger line; the `/sim/stats` snapshot taken just before the kill is one earlier line, and the lines after it are the answers completed between snapshot and signal.', '');
  out.push('| | input tokens | output tokens |', '|---|---|---|');
  out.push(`| gateway_tokens_total, both replicas | ${a.gatewayMetrics.input} | ${a.gatewayMetrics.output} |`);
  out.push(`| the gateway's log lines (tokensIn, tokensOut) | ${a.gatewayLogs.input} | ${a.gatewayLogs.output} |`);
  out.push(`| simulators' completed tokens | ${a.simulators.input} | ${a.simulators.output} |`);
  out.push(`| **difference** | **${a.difference.input}** | **${a.difference.output}** |`, '');
  out.push('| Simulator life | completed | input | output | ledger = counters | snapshot → kill window |', '|---|---|---|---|---|---|');
  for (const l of a.lives) {
    const w = l.window ? `${l.window.requests} answers, ${l.window.input}/${l.window.output} tokens${l.window.snapshotFound ? '' : ' (snapshot not in the ledger!)'}` : '';
    out.push(`| ${l.label} | ${l.counters.requests} | ${l.counters.input} | ${l.counters.output} | ${l.consistent ? 'yes' : '**no**'} | ${w} |`);
  }
  out.push('', `Per request: lost ${a.lost.length}, unmatched ${a.unmatched.length}, different tokens ${a.mismatched.length}, completed twice ${a.completedTwice.length}, client saw other usage ${a.clientMismatched.length}.`);
  out.push(`vllm:request_generation_tokens_sum at the end (it counts aborted answers' tokens too): ${JSON.stringify(r.simGenerationTokensSum)}.`, '');

  out.push(`## Memory`, '', `![memory curves](${svgName})`, '');
  out.push('| Replica | Figure | median, 1st half after warm-up | median, 2nd half | growth |', '|---|---|---|---|---|');
  for (const m of r.memory) {
    out.push(`| ${m.name} | RSS | ${mib(m.growth.rss.firstMedian)} MiB | ${mib(m.growth.rss.secondMedian)} MiB | ${pct(m.growth.rss.growth)} |`);
    out.push(`| ${m.name} | heap after GC | ${mib(m.growth.heapAfterGc.firstMedian)} MiB | ${mib(m.growth.heapAfterGc.secondMedian)} MiB | ${pct(m.growth.heapAfterGc.growth)} |`);
    out.push(`| ${m.name} | open fds | ${m.growth.fds.firstMedian} | ${m.growth.fds.secondMedian} | ${pct(m.growth.fds.growth)} |`);
  }
  for (const m of r.memory) {
    const first = m.samples.find((s) => s.t >= r.options.warmupS);
    const last = m.samples.at(-1);
    if (first?.heapTotalBytes === undefined || last?.heapTotalBytes === undefined) continue;
    const young = first.newSpaceBytes !== undefined && last.newSpaceBytes !== undefined ? `, of which the young generation (new_space) ${mib(first.newSpaceBytes)} → ${mib(last.newSpaceBytes)} MiB` : '';
    out.push('', `${m.name}: V8's committed heap (heapTotal) after warm-up ${mib(first.heapTotalBytes)} → ${mib(last.heapTotalBytes)} MiB${young}.`);
  }
  out.push('', 'Samples (every few shown; idle = after the load, gauges at 0):', '');
  out.push(`| t (s) | ${r.memory.map((m) => `${m.name} RSS MiB | ${m.name} heap MiB | ${m.name} fds`).join(' | ')} |`);
  out.push(`|---|${r.memory.map(() => '---|---|---').join('|')}|`);
  const n = Math.max(...r.memory.map((m) => m.samples.length));
  const step = Math.max(1, Math.ceil(n / 15));
  for (let i = 0; i < n; i += step) {
    const t = r.memory[0]?.samples[i]?.t ?? 0;
    out.push(`| ${t.toFixed(0)} | ${r.memory.map((m) => { const s = m.samples[i]; return s ? `${mib(s.rssBytes)} | ${mib(s.heapAfterGcBytes)} | ${s.fds}` : ' | | '; }).join(' | ')} |`);
  }
  out.push(`| idle | ${r.memory.map((m) => (m.idle ? `${mib(m.idle.rssBytes)} | ${mib(m.idle.heapAfterGcBytes)} | ${m.idle.fds}` : ' | | ')).join(' | ')} |`, '');

  out.push(`## Gauges at the end`, '', '| Replica | gateway_in_flight_requests | gateway_queued_requests | gateway_backend_in_flight (sum) |', '|---|---|---|---|');
  for (const g of r.gauges) out.push(`| ${g.replica} | ${g.inFlight} | ${g.queued} | ${g.backendInFlight} |`);
  out.push('', `Simulators running + waiting at the end: ${JSON.stringify(r.simulatorsBusy)}.`, '');

  const l = r.logLines;
  out.push(`## Log lines`, '', `Every request carried its own \`x-request-id\`; ${l.exactlyOnce} of ${l.sent} appear exactly once across both replicas' stdout (missing ${l.missing.length}, duplicated ${l.duplicated.length}, unknown ${l.unknown.length}, on the other replica ${l.wrongReplica.length}, logged status differing from the client's ${l.statusDiffers.length}).`, '');
  out.push(`## How to run`, '', '`npm run soak` (10 minutes), `npm run soak -- --minutes 3`, `npm run soak -- --short` (1 minute, CI; runs under 5 minutes write short.*). Growth check: after warm-up, the median of the second half of the samples against the first half, per replica and figure, must stay under +10%, so a short run compares like with like. Heap after GC: SIGUSR2 makes the preloaded probe run `gc()` and write `process.memoryUsage()` (scripts/soak/gc-probe.ts); RSS from /proc/<pid>/status, descriptors from /proc/<pid>/fd.', '');
  return out.join('\n');
}
