// Keeps the documentation in step with the code. It renders the element's public API (from
// custom-elements.json, which `npm run analyze` builds from the source's JSDoc) into docs/api.md
// between the api markers; checks that the hand-written tables of error codes (docs/api.md) and
// environment variables (docs/configuration.md) list exactly what the source defines; and checks
// that every relative link in README.md, CONTRIBUTING.md and docs/ points at a file (and heading)
// that exists.
// `--check` rewrites nothing and exits 1 when docs/api.md is stale; the other checks fail either way.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const API_DOC = 'docs/api.md';
const manifestPath = join(root, 'custom-elements.json');
const START = '<!-- api:start -->';
const END = '<!-- api:end -->';
const MAIN_TAG = 'p2p-share';

/**
 * Tables written by hand (they carry meanings the source does not), whose first column must
 * still list exactly the names the source defines.
 */
const HAND_TABLES = [
  {
    doc: 'docs/api.md',
    marker: 'error-codes',
    what: 'ERROR_CODES in protocol/errors.ts',
    file: 'protocol/errors.ts',
    names: (src) => [
      ...(/ERROR_CODES\s*=\s*\[([^\]]*)\]/.exec(src)?.[1] ?? '').matchAll(/'([^']+)'/g),
    ],
  },
  {
    doc: 'docs/configuration.md',
    marker: 'config',
    what: 'the environment variables in server/config/env.ts',
    file: 'server/config/env.ts',
    names: (src) => [...src.matchAll(/^\s+([A-Z][A-Z0-9_]*): v\.optional\(/gm)],
  },
];

/** The pages whose relative links must resolve. */
async function linkedPages() {
  const docs = (await readdir(join(root, 'docs'))).filter((f) => f.endsWith('.md'));
  return ['README.md', 'CONTRIBUTING.md', ...docs.map((f) => `docs/${f}`)];
}

/** One table cell: single line, pipes escaped (GFM splits cells on them even inside code). */
function cell(text) {
  return String(text ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

function code(text) {
  const t = String(text ?? '').trim();
  return t ? `\`${cell(t)}\`` : '';
}

/** A table as written, not padded to column width (Prettier leaves it alone: see renderApi). */
function table(headers, rows) {
  if (rows.length === 0) return [];
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ];
}

const isPublic = (m) => !m.privacy || m.privacy === 'public';

function signature(method) {
  const params = (method.parameters ?? [])
    .map((p) => {
      const type = p.type?.text ? `: ${p.type.text}` : '';
      const value = p.default ? ` = ${p.default}` : '';
      return `${p.rest ? '...' : ''}${p.name}${p.optional && !value ? '?' : ''}${type}${value}`;
    })
    .join(', ');
  const ret = method.return?.type?.text;
  return `${method.static ? 'static ' : ''}${method.name}(${params})${ret ? `: ${ret}` : ''}`;
}

/**
 * Events with a `@fires` description. The analyzer also lists `dispatchEvent(new CustomEvent(x))`
 * calls it finds in the code, naming them after the variable `x` when the name is not a literal
 * (an `emit(name)` helper, say); those are not events, so only documented ones are kept.
 */
function documentedEvents(decl) {
  const events = (decl.events ?? []).filter((e) => e.name);
  for (const e of events.filter((e) => !e.description)) {
    console.warn(`docs: skipped <${decl.tagName}> event "${e.name}" (no @fires description)`);
  }
  return events.filter((e) => e.description);
}

function renderElement(decl) {
  const lines = [`### \`<${decl.tagName}>\``, ''];
  const intro = [decl.summary, decl.description].filter(Boolean).join('\n\n');
  if (intro) lines.push(intro, '');

  const members = decl.members ?? [];
  const attributes = new Map((decl.attributes ?? []).map((a) => [a.fieldName ?? a.name, a]));
  const fields = members.filter((m) => m.kind === 'field' && isPublic(m) && !m.static);
  const rows = fields.map((f) => {
    const attr = attributes.get(f.name);
    return [
      code(f.name),
      attr ? code(attr.name) : '',
      code(f.type?.text),
      code(f.default),
      cell([f.readonly ? '(read-only)' : '', f.description].filter(Boolean).join(' ')),
    ];
  });
  // Attributes without a backing field (observedAttributes only) still belong in the table.
  const fieldNames = new Set(fields.map((f) => f.name));
  for (const attr of attributes.values()) {
    if (attr.fieldName && fieldNames.has(attr.fieldName)) continue;
    rows.push([
      '',
      code(attr.name),
      code(attr.type?.text),
      code(attr.default),
      cell(attr.description),
    ]);
  }
  if (rows.length) {
    lines.push('#### Attributes and properties', '');
    lines.push(...table(['Property', 'Attribute', 'Type', 'Default', 'Description'], rows));
  }

  const methods = members.filter((m) => m.kind === 'method' && isPublic(m));
  if (methods.length) {
    lines.push('#### Methods', '');
    lines.push(
      ...table(
        ['Method', 'Description'],
        methods.map((m) => {
          const params = (m.parameters ?? [])
            .filter((p) => p.description)
            .map((p) => `\`${p.name}\`: ${p.description}`);
          const returns = m.return?.description ? [`Returns ${m.return.description}`] : [];
          return [code(signature(m)), cell([m.description, ...params, ...returns].join(' '))];
        }),
      ),
    );
  }

  const sections = [
    [
      'Events',
      ['Event', 'Type', 'Description'],
      documentedEvents(decl),
      (e) => [code(e.name), code(e.type?.text), cell(e.description)],
    ],
    [
      'CSS custom properties',
      ['Property', 'Default', 'Description'],
      decl.cssProperties ?? [],
      (p) => [code(p.name), code(p.default), cell(p.description)],
    ],
    [
      'CSS parts',
      ['Part', 'Description'],
      decl.cssParts ?? [],
      (p) => [code(p.name), cell(p.description)],
    ],
    [
      'Slots',
      ['Slot', 'Description'],
      decl.slots ?? [],
      (s) => [s.name ? code(s.name) : '(default)', cell(s.description)],
    ],
  ];
  for (const [title, headers, items, row] of sections) {
    if (items.length === 0) continue;
    lines.push(`#### ${title}`, '', ...table(headers, items.map(row)));
  }
  return lines;
}

function renderApi(manifest) {
  const elements = (manifest.modules ?? [])
    .flatMap((mod) => mod.declarations ?? [])
    .filter((d) => d.customElement && d.tagName)
    .sort(
      (a, b) =>
        (a.tagName === MAIN_TAG ? -1 : b.tagName === MAIN_TAG ? 1 : 0) ||
        a.tagName.localeCompare(b.tagName),
    );
  if (!elements.some((d) => d.tagName === MAIN_TAG)) {
    throw new Error(
      `custom-elements.json describes no <${MAIN_TAG}>: does the class carry a JSDoc "@tag ${MAIN_TAG}"?`,
    );
  }
  // Prettier would pad every table to its widest cell; the range is left to this script instead.
  return [
    '<!-- prettier-ignore-start -->',
    '<!-- Generated by `npm run docs` from the source JSDoc (via custom-elements.json). Do not edit by hand. -->',
    '',
    ...elements.flatMap(renderElement),
    '<!-- prettier-ignore-end -->',
  ].join('\n');
}

/** What each hand-written table lacks or lists in excess, compared with the source. */
async function handTableDrift(texts) {
  const problems = [];
  for (const table of HAND_TABLES) {
    const names = table.names(await readFile(join(root, table.file), 'utf8')).map((m) => m[1]);
    if (names.length === 0) throw new Error(`found no names in ${table.file}`);
    const text = texts.get(table.doc) ?? (await readFile(join(root, table.doc), 'utf8'));
    const startMark = `<!-- ${table.marker}:start -->`;
    const endMark = `<!-- ${table.marker}:end -->`;
    const start = text.indexOf(startMark);
    const end = text.indexOf(endMark);
    if (start < 0 || end < start) throw new Error(`${table.doc} lacks the ${startMark} markers`);
    const listed = [...text.slice(start, end).matchAll(/^\|\s*`([^`]+)`\s*\|/gm)].map((m) => m[1]);
    const missing = names.filter((n) => !listed.includes(n));
    const extra = listed.filter((n) => !names.includes(n));
    if (missing.length || extra.length) {
      problems.push(
        `${table.doc}'s ${table.marker} table differs from ${table.what}` +
          ` (missing: ${missing.join(', ') || 'none'}; unknown: ${extra.join(', ') || 'none'}).` +
          ' Edit that table by hand: it carries the meanings.',
      );
    }
  }
  return problems;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading) {
  return heading
    .replace(/`|\*\*|__/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a Markdown file's headings get, numbered as GitHub numbers repeated ones. */
function anchors(markdown) {
  const seen = new Map();
  const found = new Set();
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n ? `${base}-${n}` : base);
  }
  return found;
}

/** Relative links (`[text](target)`) that name no existing file, or no heading in it. */
async function brokenLinks(texts) {
  const problems = [];
  for (const page of await linkedPages()) {
    const text = texts.get(page) ?? (await readFile(join(root, page), 'utf8'));
    const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
    for (const [, target] of prose.matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [path, anchor] = target.split('#');
      const file = path ? resolve(root, dirname(page), path) : join(root, page);
      if (!file.startsWith(root) || !existsSync(file)) {
        problems.push(`${page}: link to ${target}: no such file`);
        continue;
      }
      if (anchor && file.endsWith('.md')) {
        const targetText = texts.get(relative(root, file)) ?? (await readFile(file, 'utf8'));
        if (!anchors(targetText).has(anchor)) {
          problems.push(`${page}: link to ${target}: no such heading`);
        }
      }
    }
  }
  return problems;
}

async function main() {
  const check = process.argv.includes('--check');
  let manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new Error(
      `cannot read custom-elements.json (run \`npm run analyze\` first): ${err.message}`,
    );
  }
  const current = await readFile(join(root, API_DOC), 'utf8');
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${API_DOC} lacks the ${START} … ${END} markers`);
  const next = `${current.slice(0, start + START.length)}\n\n${renderApi(manifest)}\n\n${current.slice(end)}`;

  // Checked against what the page will hold, so `npm run docs` reports what it leaves behind.
  const texts = new Map([[API_DOC, next]]);
  const problems = [...(await handTableDrift(texts)), ...(await brokenLinks(texts))];
  for (const problem of problems) console.error(problem);
  if (problems.length) process.exitCode = 1;

  if (next === current) {
    console.log(`${API_DOC}: the API reference is up to date.`);
    return;
  }
  if (check) {
    console.error(`${API_DOC}: the API reference is stale: run \`npm run docs\` and commit it.`);
    process.exitCode = 1;
    return;
  }
  await writeFile(join(root, API_DOC), next);
  console.log(`${API_DOC}: the API reference regenerated.`);
}

main().catch((err) => {
  console.error(`docs: ${err.message}`);
  process.exitCode = 1;
});
