// Vite build of the dashboard: web/ is the root, the output goes to web/dist, which the API
// serves at "/". In development (`npx vite web`), API calls are proxied to a running Estafeta.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: { proxy: { '/api': { target: process.env.ESTAFETA_API_URL ?? 'http://127.0.0.1:8025', changeOrigin: false } } },
});
