// Builds the widget (dist/p2p-share.js plus lazily loaded chunks, minified, for browsers), the
// package's entries for applications that bundle it (dist/lib/, Lit left as an import), and the
// signalling service (dist/server.js, for Node, with its dependencies left as imports).
import { builtinModules } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import resolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { transform } from 'esbuild';
import esbuild from 'rollup-plugin-esbuild';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const nodeExternal = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies),
];

/** Chunk names carry content hashes: drop the previous build's so dist/ holds one build. */
const cleanChunks = (dir) => ({
  name: 'clean-chunks',
  buildStart: () => rmSync(dir, { recursive: true, force: true }),
});

/**
 * Applies packages' `browser` field to their own relative imports. node-resolve skips it for
 * packages that also have `exports`, which pulled engine.io-client's Node transports (and `ws`)
 * into the widget.
 */
const browserField = () => {
  const maps = new Map();
  const mapOf = (pkgDir) => {
    if (!maps.has(pkgDir)) {
      const field = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).browser;
      maps.set(pkgDir, field && typeof field === 'object' ? field : {});
    }
    return maps.get(pkgDir);
  };
  return {
    name: 'browser-field',
    async resolveId(source, importer, options) {
      if (!importer || !source.startsWith('.')) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      const at = resolved?.id.lastIndexOf('/node_modules/') ?? -1;
      if (!resolved || at < 0) return resolved;
      const rest = resolved.id.slice(at + '/node_modules/'.length).split('/');
      const pkgDir =
        resolved.id.slice(0, at + '/node_modules/'.length) +
        rest.slice(0, rest[0].startsWith('@') ? 2 : 1).join('/');
      const target = mapOf(pkgDir)[`./${resolved.id.slice(pkgDir.length + 1)}`];
      if (target === false) return '\0empty';
      return typeof target === 'string' ? join(pkgDir, target) : resolved;
    },
    load: (id) => (id === '\0empty' ? 'export default {};' : null),
  };
};

/**
 * The widget connects over WebSocket only (src/signal/signal-client.ts), so engine.io-client's
 * table of default transports keeps just that one: its long-polling and WebTransport code stays
 * out of the bundle (about 1 KiB gzipped).
 */
const websocketOnly = () => ({
  name: 'websocket-only',
  async resolveId(source, importer, options) {
    if (source !== './transports/index.js' || !importer?.includes('/engine.io-client/'))
      return null;
    const ws = await this.resolve('./transports/websocket.js', importer, {
      ...options,
      skipSelf: true,
    });
    return ws ? `\0websocket-only:${ws.id}` : null;
  },
  load: (id) =>
    id.startsWith('\0websocket-only:')
      ? `import { WS } from ${JSON.stringify(id.slice('\0websocket-only:'.length))};\nexport const transports = { websocket: WS };`
      : null,
});

/**
 * Minifies the CSS in Lit's css`` templates (Terser leaves template text alone): about 1.6 KiB of
 * whitespace and comments, 0.15 KiB gzipped. Templates with `${}` parts are left as written.
 */
const minifyCss = () => ({
  name: 'minify-css',
  async transform(code, id) {
    if (!id.includes('/src/') || !code.includes('css`')) return null;
    let out = '';
    let last = 0;
    for (const m of code.matchAll(/\bcss`([^`$\\]*)`/g)) {
      const { code: min } = await transform(m[1], { loader: 'css', minify: true });
      out += `${code.slice(last, m.index)}css\`${min.trim()}\``;
      last = m.index + m[0].length;
    }
    return last === 0 ? null : { code: out + code.slice(last), map: null };
  },
});

/** What the widget's builds share: the trims, the resolution for browsers and the transpile. */
const widgetPlugins = () => [
  websocketOnly(),
  browserField(),
  minifyCss(),
  resolve({ browser: true, extensions: ['.ts', '.js'] }),
  esbuild({ target: 'es2022', tsconfig: 'tsconfig.json' }),
];

// engine.io-client's modules run nothing on import that the widget needs (its XHR transport
// probes XHR2 at load), so what the widget does not use is left out with them.
const treeshake = { moduleSideEffects: (id) => !id.includes('/node_modules/engine.io-client/') };

/** Lit's packages: an application that bundles the element shares one Lit with its own. */
const lit = (id) => /^(lit|lit-html|lit-element|@lit\/reactive-element)(\/|$)/.test(id);

export default [
  {
    input: { 'p2p-share': 'src/index.ts' },
    // The lazy chunks import shared code from the entry. 'strict' would turn p2p-share.js into a
    // facade over a chunk under chunks/, and the widget finds its service from its own script
    // URL (import.meta.url in the element), which must stay p2p-share.js.
    preserveEntrySignatures: 'allow-extension',
    treeshake,
    output: {
      dir: 'dist',
      format: 'es',
      sourcemap: true,
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
    },
    plugins: [
      cleanChunks('dist/chunks'),
      ...widgetPlugins(),
      terser({ ecma: 2022, module: true, compress: { passes: 2 }, format: { comments: false } }),
    ],
  },
  {
    // package.json's `exports`: `.` (api.ts) and `./define` (index.ts, which imports everything
    // api.ts does, so define.js imports index.js and both share one class). Left unminified for
    // the application's own bundler.
    input: { index: 'src/api.ts', define: 'src/index.ts' },
    preserveEntrySignatures: 'allow-extension',
    treeshake,
    external: lit,
    output: {
      dir: 'dist/lib',
      format: 'es',
      sourcemap: true,
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
    },
    plugins: [cleanChunks('dist/lib'), ...widgetPlugins()],
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
