/**
 * SECURITY.md's table of the limits the service enforces is a promise to operators and users, so
 * it is tested as written: each row is read from the file, and a check for its "What" runs the
 * service in-process and holds it to the row's default and to what happens past it. The checks
 * are grouped by area in ./security-limits/; each row has exactly one check among them. A row
 * with no check fails, so a limit added to the table is wired in there; a check whose row is
 * gone fails too, and so does a row checked in two areas.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADDRESS_BUDGETS } from './security-limits/address-budgets.js';
import { SIZES_AND_RATES } from './security-limits/sizes-and-rates.js';
import { limitRows, SECURITY, type Check } from './security-limits/support.js';
import { SWARM } from './security-limits/swarm.js';

const AREAS: Record<string, Record<string, Check>> = {
  'sizes and rates': SIZES_AND_RATES,
  'address budgets': ADDRESS_BUDGETS,
  swarm: SWARM,
};

/** Row name → its check, and the area of each check. */
const CHECKS: Record<string, Check> = {};
const AREA_OF: Record<string, string[]> = {};
for (const [area, checks] of Object.entries(AREAS)) {
  for (const [what, check] of Object.entries(checks)) {
    CHECKS[what] = check;
    (AREA_OF[what] ??= []).push(area);
  }
}

const ROWS = limitRows(SECURITY);

test('SECURITY.md lists the limits, and each check has its row', () => {
  assert.ok(ROWS.length >= 12, `${ROWS.length} rows`);
  const stale = Object.keys(CHECKS).filter((what) => !ROWS.some((row) => row.what === what));
  assert.deepEqual(stale, [], 'checks whose row left the table: remove or rename them');
  const twice = Object.entries(AREA_OF).filter(([, areas]) => areas.length > 1);
  assert.deepEqual(twice, [], 'rows checked in more than one area');
});

test('a row the checks do not know fails', () => {
  const rows = limitRows(
    '## Limits the service enforces\n\n| What | Default | Past it |\n| --- | --- | --- |\n| New | 1 | `429 x` |\n',
  );
  assert.deepEqual(rows, [{ what: 'New', default: '1', past: '`429 x`' }]);
  assert.equal(CHECKS[rows[0]!.what], undefined);
});

for (const row of ROWS) {
  test(`limit as written: ${row.what} — ${row.default} — ${row.past}`, async () => {
    const check = CHECKS[row.what];
    assert.ok(check, `SECURITY.md's row "${row.what}" has no check: add one in security-limits/`);
    await check(row);
  });
}
