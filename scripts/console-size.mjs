// The built console's files and their sizes, raw and gzipped (zlib's default level, as Vite reports
// them), and which of them the first screen loads: what ui/dist/index.html names (the entry script,
// its stylesheet and the chunks it preloads). Used by scripts/build-ui.mjs and bench/console.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** @param {string} dist the built console (ui/dist) */
export function consoleSizes(dist) {
  const assets = join(dist, 'assets');
  const files = readdirSync(assets).filter((name) => !name.endsWith('.gz')).sort().map((name) => {
    const body = readFileSync(join(assets, name));
    return { name, raw: body.length, gzip: gzipSync(body).length };
  });
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const named = new Set();
  for (const m of html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)) named.add(m[1]);
  const first = files.filter((f) => named.has(f.name));
  const indexGzip = gzipSync(Buffer.from(html)).length;
  const sum = (list, key) => list.reduce((s, f) => s + f[key], 0);
  return {
    files,
    index: { raw: Buffer.byteLength(html), gzip: indexGzip },
    firstScreen: {
      files: first.map((f) => f.name),
      raw: Buffer.byteLength(html) + sum(first, 'raw'),
      gzip: indexGzip + sum(first, 'gzip'),
    },
    total: { raw: sum(files, 'raw'), gzip: sum(files, 'gzip') },
  };
}

// kB of 1000 bytes, as Vite prints them.
const kb = (n) => `${(n / 1000).toFixed(1)} kB`;

/** A short table of the sizes, for the build's output. */
export function formatSizes(sizes) {
  const width = Math.max(...sizes.files.map((f) => f.name.length), 12);
  const lines = sizes.files.map((f) => `  ${f.name.padEnd(width)} ${kb(f.raw).padStart(10)} ${kb(f.gzip).padStart(10)} gzip${sizes.firstScreen.files.includes(f.name) ? '  (first screen)' : ''}`);
  lines.push(`  ${'first screen'.padEnd(width)} ${kb(sizes.firstScreen.raw).padStart(10)} ${kb(sizes.firstScreen.gzip).padStart(10)} gzip  (index.html and what it loads)`);
  lines.push(`  ${'all files'.padEnd(width)} ${kb(sizes.total.raw).padStart(10)} ${kb(sizes.total.gzip).padStart(10)} gzip`);
  return lines.join('\n');
}
