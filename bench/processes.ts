/**
 * Every process and temp directory the benchmark creates is registered here, so that they are all
 * killed and removed at the end — also when a step throws or the user presses Ctrl-C.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Spawns a child that is killed by `cleanup()` if it is still alive then. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export const isAlive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/** Waits for a child to exit; SIGKILLs it after `graceMs`. Resolves with how it ended. */
export function waitForExit(child: ChildProcess, graceMs: number): Promise<string> {
  if (!isAlive(child)) return Promise.resolve(describeExit(child));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (isAlive(child)) child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(describeExit(child));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<string> {
  if (isAlive(child)) child.kill('SIGTERM');
  return waitForExit(child, graceMs);
}

const describeExit = (child: ChildProcess): string => (child.signalCode ? `signal ${child.signalCode}` : `exit ${child.exitCode}`);

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Synchronous, so it can run in an 'exit' handler: kills every child still alive, removes temp dirs. */
export function cleanup(): void {
  for (const child of children) {
    if (isAlive(child)) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`)

/** CPU seconds (user + system) a process has used so far, from /proc; null where /proc is absent. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine has been busy (all cores, user + system + irq), from /proc/stat. */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * Scheduler times of a process's main thread (the one that runs JavaScript), in seconds, from
 * /proc/<pid>/task/<pid>/schedstat: time on a CPU, and time runnable but waiting for a CPU (the
 * machine being busy with something else). The rest of the wall time the thread was blocked or idle.
 */
export function mainThreadSched(pid: number | undefined): { onCpu: number; waiting: number } | null {
  if (pid === undefined) return null;
  try {
    const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { onCpu: onCpu / 1e9, waiting: waiting / 1e9 };
  } catch {
    return null;
  }
}

/** Collects a child's output lines (keeping the last ones for error messages). */
export class OutputTail {
  private readonly lines: string[] = [];
  constructor(private readonly keep = 40) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.keep) this.lines.shift();
  }
  text(): string {
    return this.lines.join('\n');
  }
}
