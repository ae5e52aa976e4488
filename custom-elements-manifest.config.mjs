// Generates custom-elements.json (named by package.json's `customElements`) from the widget's
// source and JSDoc. README's API tables are rendered from that file by scripts/readme-api.mjs.
export default {
  globs: ['src/**/*.ts'],
  exclude: ['src/**/*.test.ts', 'src/**/*.spec.ts', 'src/**/test/**', 'src/**/*.d.ts'],
  outdir: '.',
  litelement: true,
  // package.json already names the manifest; leave that file alone.
  packagejson: false,
  dev: false,
};
