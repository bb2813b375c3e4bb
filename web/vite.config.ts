import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `vite build web` (from the package root) and `vite build` (from web/) both land in web/dist,
// which the fastify server serves at `/`.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  plugins: [react()],
  // Request and response schemas shared with the server (src/contracts): one definition of the API.
  resolve: { alias: { '@contracts': fileURLToPath(new URL('../src/contracts', import.meta.url)) } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The dashboard is small; one chunk keeps the served file list trivial.
    chunkSizeWarningLimit: 1000,
  },
  server: {
    // `npx vite web` during development proxies the API to a local `vigil start`.
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/ping': 'http://127.0.0.1:8080',
    },
  },
});
