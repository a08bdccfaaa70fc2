import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));

// The console is served by the Flowgate server itself (src/http/console.ts): hashed files under
// /assets/, one index.html, and a CSP without inline script or style.
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline <script> for the module preload polyfill (the CSP forbids inline script).
    modulePreload: { polyfill: false },
    // Small icons are files too, not data: URLs in CSS (img-src allows data: but fonts do not).
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2000,
  },
});
