/// <reference types="vitest/config" />
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { precompress } from './precompress';

// The dashboard talks to dashboard-api on the same origin. During `npm run dev` the API
// (default http://127.0.0.1:2026, override with GADAI_DASHBOARD_API) is proxied, the SSE feed
// included.
const api = process.env.GADAI_DASHBOARD_API ?? 'http://127.0.0.1:2026';

export default defineConfig({
  plugins: [react(), tailwindcss(), precompress()],
  server: {
    proxy: {
      '/dashboard': { target: api, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/dashboard': { target: api, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    css: false,
    restoreMocks: true,
  },
});
