// Generates custom-elements.json (named by package.json's `customElements`) from the widget's
// source and JSDoc. docs/api.md's reference is rendered from that file by scripts/docs.mjs.

/**
 * The element registers itself through the guarded `static define(tag = 'p2p-share', …)` idiom
 * (STYLE.md) rather than a literal `customElements.define(…)` call, which is all the analyzer
 * recognises; take the tag name from that default unless JSDoc's `@tag` already gave one.
 */
function tagFromStaticDefine() {
  return {
    name: 'tag-from-static-define',
    packageLinkPhase({ customElementsManifest }) {
      for (const mod of customElementsManifest.modules ?? []) {
        for (const decl of mod.declarations ?? []) {
          if (!decl.customElement || decl.tagName) continue;
          const define = decl.members?.find(
            (m) => m.kind === 'method' && m.static && m.name === 'define',
          );
          const tag = /^(['"])([a-z][a-z0-9._-]*-[a-z0-9._-]*)\1$/.exec(
            define?.parameters?.[0]?.default ?? '',
          );
          if (tag) decl.tagName = tag[2];
        }
      }
    },
  };
}

export default {
  globs: ['src/**/*.ts'],
  exclude: ['src/**/*.test.ts', 'src/**/*.spec.ts', 'src/**/test/**', 'src/**/*.d.ts'],
  outdir: '.',
  litelement: true,
  // package.json already names the manifest; leave that file alone.
  packagejson: false,
  dev: false,
  plugins: [tagFromStaticDefine()],
};
