// Two builds of the same sources, the `frontend_split` switch of the performance report
// (section 8):
//   vite build --mode eager  -> build-eager/: the report's "current": one bundle, every page
//                               and library imported up front, no precompressed assets.
//   vite build --mode split  -> build-split/: its fix: vendor/ui/utils/search chunks, pages
//                               and heavy widgets loaded on demand (analytics after idle),
//                               gzip and brotli copies of every asset, hashed file names.
// The sources differ only by the `$pages` module: src/pages.eager.ts imports every page
// statically, src/pages.lazy.ts with dynamic import().
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import tailwindcss from '@tailwindcss/vite';
import { compression, defineAlgorithm } from 'vite-plugin-compression2';
import { defineConfig, type UserConfig } from 'vite';

// Below this size compressing costs more in headers and CPU than it saves.
const COMPRESS_THRESHOLD_BYTES = 1024;

// The report's manualChunks, as Rolldown groups (Vite 8 has no object-form manualChunks).
// A group also takes in the modules its own modules import, so the most shared libraries
// are claimed first: the Svelte runtime would otherwise end up inside "ui" with bits-ui.
const CHUNK_GROUPS = [
  { name: 'vendor', test: /node_modules[\\/](svelte|esm-env)[\\/]/, priority: 4 },
  { name: 'utils', test: /node_modules[\\/](date-fns|clsx|tailwind-merge)[\\/]/, priority: 3 },
  { name: 'search', test: /node_modules[\\/](@meilisearch[\\/]|meilisearch[\\/])/, priority: 2 },
  { name: 'ui', test: /node_modules[\\/](bits-ui|@lucide[\\/]svelte)[\\/]/, priority: 1 },
];

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

function eager(): UserConfig {
  return {
    resolve: { alias: { $pages: src('./src/pages.eager.ts') } },
    build: {
      outDir: 'build-eager',
      rolldownOptions: {
        output: {
          codeSplitting: false,
          entryFileNames: 'assets/app.js',
          assetFileNames: 'assets/[name][extname]',
        },
      },
    },
  };
}

function split(): UserConfig {
  return {
    resolve: { alias: { $pages: src('./src/pages.lazy.ts') } },
    plugins: [
      compression({
        algorithms: [
          defineAlgorithm('gzip', { level: 9 }),
          defineAlgorithm('brotliCompress'),
        ],
        threshold: COMPRESS_THRESHOLD_BYTES,
        include: /\.(js|css|html|svg|json)$/,
      }),
    ],
    build: {
      outDir: 'build-split',
      cssCodeSplit: true,
      rolldownOptions: {
        output: {
          codeSplitting: { groups: CHUNK_GROUPS },
          chunkFileNames: 'chunks/[name]-[hash].js',
          entryFileNames: 'entries/[name]-[hash].js',
          assetFileNames: 'assets/[name]-[hash][extname]',
        },
      },
    },
  };
}

export default defineConfig(({ mode }) => {
  if (mode !== 'eager' && mode !== 'split') {
    throw new Error(`build mode must be "eager" or "split", not "${mode}"`);
  }
  const variant = mode === 'eager' ? eager() : split();
  return {
    ...variant,
    plugins: [svelte(), tailwindcss(), ...(variant.plugins ?? [])],
    build: {
      target: 'es2022',
      emptyOutDir: true,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 2048,
      ...variant.build,
      rolldownOptions: {
        ...variant.build?.rolldownOptions,
        // Its "slow plugin" notes only say the machine was busy.
        checks: { bundlerTimings: false },
      },
    },
  };
});
