// The newest modification time under a directory: what the build scripts compare their output with.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The newest mtime (ms) of the files under `dir`, leaving out dot files, `node_modules`, the names in
 * `skipDirs` and files for which `skipFile(name)` holds; 0 when there are none.
 */
export function newestMtime(dir, { skipDirs = [], skipFile = () => false } = {}) {
  let newest = 0;
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name.startsWith('.') || skipDirs.includes(name)) continue;
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (!skipFile(name)) newest = Math.max(newest, st.mtimeMs);
    }
  };
  walk(dir);
  return newest;
}
