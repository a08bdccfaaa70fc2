/**
 * The orchestrator's side of a load: spawns bench/load.ts as its own process, and samples the CPU
 * the server (and the generator) used between the measurement's start and end marks.
 */
import { createInterface } from 'node:readline';
import type { LoadEvent, LoadOutput, LoadSpec } from './load-protocol.js';
import type { PgCounters } from './postgres.js';
import { cpuSeconds, machineBusySeconds, mainThreadSched, OutputTail, spawnTracked, waitForExit } from './processes.js';
import { REPO_ROOT } from './servers.js';

export interface CpuUse {
  /** CPU seconds the process used inside the measured window. */
  seconds: number;
  /** …as a share of one core (1.0 = one core busy the whole window). */
  cores: number;
}

/** Where the server's main (JavaScript) thread spent the window, as shares of its wall time. */
export interface MainThreadUse {
  onCpu: number;
  /** Runnable, but every core was busy (with the load generator, other threads, other processes). */
  waitingForCpu: number;
  /** Neither: blocked in a system call (e.g. fsync) or idle with nothing to do. */
  blockedOrIdle: number;
}

export interface LoadRun extends LoadOutput {
  /** CLOCK_MONOTONIC µs of the window's marks (to cut CPU profiles to the window). */
  windowUs: { start: number; end: number };
  /** CPU of every server process together (one node, or all nodes of a cluster row). */
  serverCpu: CpuUse | null;
  /** The same per server process, in the order given (one entry per node). */
  nodeCpu: (CpuUse | null)[];
  generatorCpu: CpuUse | null;
  /** The servers' main threads, averaged over the nodes. */
  serverMainThread: MainThreadUse | null;
  /** CPU used by everything else on the machine in the window (other processes: the noise), in cores. */
  otherCpu: CpuUse | null;
  /** What the database did inside the window (PostgreSQL rows): counter differences between the marks. */
  database: PgCounters | null;
}

/** `serverPids`: the processes whose CPU is the server's (every node of a cluster row). */
export async function runLoad(spec: LoadSpec, serverPids: number[], database: { sample(): PgCounters } | null = null): Promise<LoadRun> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify(spec)], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = new OutputTail();
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));

  interface Mark {
    us: number; servers: (number | null)[]; generator: number | null; sched: ReturnType<typeof mainThreadSched>[]; machine: number | null; db: PgCounters | null;
  }
  const got: { output?: LoadOutput; start?: Mark; end?: Mark } = {};
  const mark = (us: number): Mark => ({
    us, servers: serverPids.map(cpuSeconds), generator: cpuSeconds(child.pid), sched: serverPids.map(mainThreadSched), machine: machineBusySeconds(),
    db: database?.sample() ?? null,
  });

  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: LoadEvent;
    try {
      event = JSON.parse(line) as LoadEvent;
    } catch {
      stderr.push(line);
      return;
    }
    if (event.event === 'measure-start') got.start = mark(event.monoUs);
    else if (event.event === 'measure-end') got.end = mark(event.monoUs);
    else got.output = event.output;
  });

  const limitMs = (spec.warmupSeconds + spec.durationSeconds) * 1000 + 120_000;
  const exit = await waitForExit(child, limitMs);
  const { output, start, end } = got;
  if (!output || !start || !end) throw new Error(`the load generator failed (${exit})\n${stderr.text()}`);
  const windowSeconds = (end.us - start.us) / 1e6;
  const use = (a: number | null, b: number | null): CpuUse | null =>
    a === null || b === null ? null : { seconds: b - a, cores: windowSeconds > 0 ? (b - a) / windowSeconds : 0 };
  const nodeCpu = serverPids.map((_, i) => use(start.servers[i], end.servers[i]));
  const serverCpu = sumUse(nodeCpu);
  const generatorCpu = use(start.generator, end.generator);
  const threads = serverPids.map((_, i) => threadUse(start.sched[i], end.sched[i], windowSeconds));
  const db = start.db && end.db ? {
    roundTrips: end.db.roundTrips - start.db.roundTrips, groupCommits: end.db.groupCommits - start.db.groupCommits,
    backendCpuSeconds: end.db.backendCpuSeconds - start.db.backendCpuSeconds,
    byStatement: difference(start.db.byStatement, end.db.byStatement),
    waits: difference(start.db.waits, end.db.waits),
  } : null;
  const dbCpu = db ? { seconds: db.backendCpuSeconds, cores: windowSeconds > 0 ? db.backendCpuSeconds / windowSeconds : 0 } : null;
  return {
    ...output,
    windowUs: { start: start.us, end: end.us },
    serverCpu,
    nodeCpu,
    generatorCpu,
    serverMainThread: meanThread(threads),
    otherCpu: others(use(start.machine, end.machine), [serverCpu, generatorCpu, ...(dbCpu ? [dbCpu] : [])]),
    database: db,
  };
}

/** Counts that grew between two samples, largest first. */
function difference(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - (before[k] ?? 0)] as const).filter(([, n]) => n > 0).sort((x, y) => y[1] - x[1]));
}

function sumUse(uses: (CpuUse | null)[]): CpuUse | null {
  if (uses.length === 0 || uses.some((u) => u === null)) return null;
  return { seconds: uses.reduce((s, u) => s + u!.seconds, 0), cores: uses.reduce((s, u) => s + u!.cores, 0) };
}

function threadUse(a: ReturnType<typeof mainThreadSched>, b: ReturnType<typeof mainThreadSched>, seconds: number): MainThreadUse | null {
  if (!a || !b || seconds <= 0) return null;
  const onCpu = (b.onCpu - a.onCpu) / seconds;
  const waitingForCpu = (b.waiting - a.waiting) / seconds;
  return { onCpu, waitingForCpu, blockedOrIdle: Math.max(0, 1 - onCpu - waitingForCpu) };
}

function meanThread(threads: (MainThreadUse | null)[]): MainThreadUse | null {
  if (threads.length === 0 || threads.some((t) => t === null)) return null;
  const mean = (k: keyof MainThreadUse): number => threads.reduce((s, t) => s + t![k], 0) / threads.length;
  return { onCpu: mean('onCpu'), waitingForCpu: mean('waitingForCpu'), blockedOrIdle: mean('blockedOrIdle') };
}

function others(machine: CpuUse | null, ours: (CpuUse | null)[]): CpuUse | null {
  if (!machine || ours.some((u) => u === null)) return null;
  const seconds = Math.max(0, machine.seconds - ours.reduce((sum, u) => sum + u!.seconds, 0));
  return { seconds, cores: machine.cores * (seconds / (machine.seconds || 1)) };
}
