/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): self time per function and per area (a source
 * file of Flowgate, an npm package, a Node core module, GC, …), optionally cut to a time window
 * (CLOCK_MONOTONIC µs, as bench/load.ts marks the measured window).
 *
 * Usage: node --import tsx bench/profile.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './servers.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Hot {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Milliseconds covered by the samples used (the window, when one was given and matched). */
  sampledMs: number;
  busyMs: number;
  windowed: boolean;
  functions: Hot[];
  areas: Hot[];
}

const IDLE = '(idle)';

function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').replace(/\/.*$/, '');
  const local = url.replace(/^file:\/\//, '').replace(REPO_ROOT, '');
  return local;
}

function functionKey(frame: CallFrame): string {
  // tsx emits each .ts module on one line: its line numbers say nothing, the file and name do.
  const line = frame.url.endsWith('.ts') ? '' : `:${frame.lineNumber + 1}`;
  const where = frame.url ? `${areaOf(frame).replace(/^npm:/, '')}${line}` : '';
  return `${frame.functionName || '(anonymous)'}${where ? `  ${where}` : ''}`;
}

export function summarizeProfile(file: string, top = 20, window?: { start: number; end: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  // Sample i lasts until sample i+1 (as DevTools counts it).
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const inWindow = (i: number): boolean => !window || (times[i] >= window.start && times[i] < window.end);
  const windowed = window !== undefined && times.some((_, i) => inWindow(i));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let sampledUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length - 1; i++) {
    if (windowed && !inWindow(i)) continue;
    const us = times[i + 1] - times[i];
    const frame = frames.get(profile.samples[i]);
    if (!frame) continue;
    sampledUs += us;
    if (frame.functionName === IDLE) {
      idleUs += us;
      continue;
    }
    const fk = functionKey(frame);
    byFunction.set(fk, (byFunction.get(fk) ?? 0) + us);
    const ak = areaOf(frame);
    byArea.set(ak, (byArea.get(ak) ?? 0) + us);
  }
  const busyUs = sampledUs - idleUs;
  const rank = (m: Map<string, number>): Hot[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return { file, sampledMs: sampledUs / 1000, busyMs: busyUs / 1000, windowed, functions: rank(byFunction), areas: rank(byArea) };
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `CPU profile ${s.file}`,
    `  ${s.windowed ? 'measured window only' : 'whole process lifetime'}: ${(s.sampledMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (shares below are of busy time)`,
    '  top self time by area:',
    ...s.areas.slice(0, 12).map((h) => `    ${pct(h.share)} ${h.ms.toFixed(0).padStart(7)} ms  ${h.name}`),
    '  top self time by function:',
    ...s.functions.map((h) => `    ${pct(h.share)} ${h.ms.toFixed(0).padStart(7)} ms  ${h.name}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx bench/profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25))));
}
