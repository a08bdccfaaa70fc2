/**
 * How long this machine's disk takes to make a write durable, measured where the servers keep their
 * data. A durable trigger is answered only after its group commit's fsync, a cost the baseline does
 * not have; printed beside the results so that figures from two machines can be told apart.
 *
 * The probe writes what a group commit writes to SQLite's WAL (about 100 KiB into a WAL file that
 * is reused, not grown) and calls fdatasync, 200 times.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './processes.js';

export interface DiskProbe {
  /** fdatasync after a 96 KiB overwrite, in ms. */
  p50Ms: number;
  p90Ms: number;
}

export function probeDisk(samples = 200): DiskProbe {
  const dir = makeTempDir('flowgate-bench-disk-');
  try {
    const fd = openSync(join(dir, 'wal'), 'w+');
    try {
      const wal = 4 * 1024 * 1024;
      const chunk = Buffer.alloc(96 * 1024, 1);
      writeSync(fd, Buffer.alloc(wal), 0, wal, 0);
      fdatasyncSync(fd);
      const times: number[] = [];
      let offset = 0;
      for (let i = 0; i < samples; i++) {
        writeSync(fd, chunk, 0, chunk.length, offset);
        offset = offset + 2 * chunk.length > wal ? 0 : offset + chunk.length;
        const t = process.hrtime.bigint();
        fdatasyncSync(fd);
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      times.sort((a, b) => a - b);
      return { p50Ms: times[Math.floor(samples / 2)], p90Ms: times[Math.floor(samples * 0.9)] };
    } finally {
      closeSync(fd);
    }
  } finally {
    removeTempDir(dir);
  }
}
