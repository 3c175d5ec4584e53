/**
 * @module bench/profile-report
 * The markdown page of a profile run: for each scenario and profiled process, where its CPU went, by
 * package and by function (self time).
 */
import type { ProfileSummary } from './cpu-profile.js';
import { SCENARIOS, type ScenarioId } from './plan.js';
import { TARGET_LABELS, type TargetId } from './targets.js';

export interface ProfiledRun {
  scenario: string;
  target: TargetId;
  file: string;
  summary: ProfileSummary;
}

const pct = (share: number): string => `${(share * 100).toFixed(1)}%`;

export function renderProfiles(runs: readonly ProfiledRun[], header: string): string {
  const out: string[] = [header, ''];
  for (const run of runs) {
    const scenario = SCENARIOS[run.scenario as ScenarioId]?.label ?? run.scenario;
    out.push(`## ${TARGET_LABELS[run.target]}: ${scenario}`);
    out.push('');
    out.push(`Profile \`${run.file}\`: ${run.summary.busyMs.toFixed(0)} ms busy of ${run.summary.totalMs.toFixed(0)} ms sampled (the rest idle).`);
    out.push('');
    out.push('| area | self ms | share of busy |');
    out.push('| --- | --- | --- |');
    for (const a of run.summary.byArea.slice(0, 12)) out.push(`| ${a.area} | ${a.selfMs.toFixed(0)} | ${pct(a.share)} |`);
    out.push('');
    out.push('| function | where | self ms | share of busy |');
    out.push('| --- | --- | --- | --- |');
    for (const t of run.summary.top) out.push(`| \`${t.name}\` | ${t.where || t.area} | ${t.selfMs.toFixed(0)} | ${pct(t.share)} |`);
    out.push('');
  }
  return out.join('\n');
}
