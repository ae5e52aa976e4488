// Builds the widget (dist/p2p-share.js plus lazily loaded chunks, minified, for browsers) and the
// signalling service (dist/server.js, for Node, with its dependencies left as imports).
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import resolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const nodeExternal = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies),
];

export default [
  {
    input: { 'p2p-share': 'src/index.ts' },
    // The lazy chunks import shared code from the entry. 'strict' would turn p2p-share.js into a
    // facade over a chunk under chunks/, and the widget finds its service from its own script
    // URL (import.meta.url in the element), which must stay p2p-share.js.
    preserveEntrySignatures: 'allow-extension',
    output: {
      dir: 'dist',
      format: 'es',
      sourcemap: true,
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
    },
    plugins: [
      resolve({ browser: true, extensions: ['.ts', '.js'] }),
      esbuild({ target: 'es2022', tsconfig: 'tsconfig.json' }),
      terser({ ecma: 2022, module: true, format: { comments: false } }),
    ],
  },
  {
    input: 'server/main.ts',
    output: { file: 'dist/server.js', format: 'es', sourcemap: true },
    external: (id) => nodeExternal.some((dep) => id === dep || id.startsWith(`${dep}/`)),
    plugins: [
      resolve({ preferBuiltins: true, extensions: ['.ts', '.js'] }),
      esbuild({ target: 'node20', tsconfig: 'tsconfig.json' }),
    ],
  },
];
