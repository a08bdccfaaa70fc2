/**
 * The orchestrator's side of a load: spawns bench/load.ts as its own process, and samples the CPU
 * the server (and the generator) used between the measurement's start and end marks.
 */
import { createInterface } from 'node:readline';
import type { LoadEvent, LoadOutput, LoadSpec } from './load-protocol.js';
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
  serverCpu: CpuUse | null;
  generatorCpu: CpuUse | null;
  serverMainThread: MainThreadUse | null;
  /** CPU used by everything else on the machine in the window (other processes: the noise), in cores. */
  otherCpu: CpuUse | null;
}

export async function runLoad(spec: LoadSpec, serverPid: number): Promise<LoadRun> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify(spec)], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = new OutputTail();
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));

  interface Mark { us: number; server: number | null; generator: number | null; sched: ReturnType<typeof mainThreadSched>; machine: number | null }
  const got: { output?: LoadOutput; start?: Mark; end?: Mark } = {};
  const mark = (us: number): Mark => ({
    us, server: cpuSeconds(serverPid), generator: cpuSeconds(child.pid), sched: mainThreadSched(serverPid), machine: machineBusySeconds(),
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
  return {
    ...output,
    windowUs: { start: start.us, end: end.us },
    serverCpu: use(start.server, end.server),
    generatorCpu: use(start.generator, end.generator),
    serverMainThread: threadUse(start.sched, end.sched, windowSeconds),
    otherCpu: others(use(start.machine, end.machine), [use(start.server, end.server), use(start.generator, end.generator)]),
  };
}

function threadUse(a: ReturnType<typeof mainThreadSched>, b: ReturnType<typeof mainThreadSched>, seconds: number): MainThreadUse | null {
  if (!a || !b || seconds <= 0) return null;
  const onCpu = (b.onCpu - a.onCpu) / seconds;
  const waitingForCpu = (b.waiting - a.waiting) / seconds;
  return { onCpu, waitingForCpu, blockedOrIdle: Math.max(0, 1 - onCpu - waitingForCpu) };
}

function others(machine: CpuUse | null, ours: (CpuUse | null)[]): CpuUse | null {
  if (!machine || ours.some((u) => u === null)) return null;
  const seconds = Math.max(0, machine.seconds - ours.reduce((sum, u) => sum + u!.seconds, 0));
  return { seconds, cores: machine.cores * (seconds / (machine.seconds || 1)) };
}
