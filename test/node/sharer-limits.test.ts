/**
 * SECURITY.md's table of the limits the sharer's page enforces, held to the constants the page
 * runs with: each row is read from the file and checked by the entry of CHECKS named after it; a
 * row with no check fails, and so does a check whose row is gone. What the limits do is tested
 * in Chromium (test/engine/peer-server.test.ts) and end to end (e2e/junk-offers.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONNECT_TIMEOUT_MS } from '../../src/rtc/peer-link.js';
import {
  MAX_TRACKED,
  OFFER_BURST,
  OFFER_EVERY_MS,
  REFUSE_FAILING_MS,
  REFUSE_UNSEALED_MS,
  STRIKES,
} from '../../src/session/admission.js';
import {
  EVICT_AFTER_MS,
  MAX_FAILED_ROWS,
  MAX_PEERS,
  SETUP_EXTRA,
} from '../../src/session/peer-server.js';
import { markdownTable, numbers, SECURITY } from './security-limits/support.js';

interface Row {
  what: string;
  limit: string;
  past: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

function rows(markdown: string): Row[] {
  const columns = ['What', 'Limit', 'Past it'];
  return markdownTable(markdown, "Limits the sharer's page enforces", columns).map(
    ([what = '', limit = '', past = '']) => ({ what, limit, past }),
  );
}

const CHECKS: Record<string, (row: Row) => void> = {
  'First envelope of a new peer'(row) {
    assert.match(row.past, /costs no `RTCPeerConnection` and no row/);
    assert.deepEqual(numbers(row.past), [REFUSE_UNSEALED_MS / SECOND]);
    assert.match(row.past, /refused for \d+ s$/);
  },
  'Recipients served at once'(row) {
    assert.deepEqual(numbers(row.limit), [MAX_PEERS]);
  },
  'Connections existing at once'(row) {
    assert.deepEqual(numbers(row.limit), [MAX_PEERS, SETUP_EXTRA]);
    assert.deepEqual(numbers(row.past), [EVICT_AFTER_MS / SECOND]);
  },
  'New offers per peer'(row) {
    assert.deepEqual(numbers(row.limit), [OFFER_BURST, 1, OFFER_EVERY_MS / SECOND]);
  },
  'Connect timeout'(row) {
    assert.deepEqual(numbers(row.limit), [CONNECT_TIMEOUT_MS / SECOND]);
    assert.match(row.limit, /^\d+ s$/);
  },
  'Failures per peer (not reached, tampered, breaking the protocol)'(row) {
    assert.deepEqual(numbers(row.limit), [STRIKES]);
    assert.deepEqual(numbers(row.past), [REFUSE_FAILING_MS / MINUTE]);
    assert.match(row.past, /minutes/);
    assert.match(row.past, /`refused`/);
  },
  'Failed rows shown'(row) {
    assert.deepEqual(numbers(row.limit), [MAX_FAILED_ROWS]);
  },
  'Per-peer records (refusals, offer budgets, failures)'(row) {
    assert.deepEqual(numbers(row.limit), [MAX_TRACKED]);
  },
};

const ROWS = rows(SECURITY);

for (const row of ROWS) {
  test(`sharer limit as written: ${row.what} — ${row.limit}`, () => {
    const check = CHECKS[row.what];
    assert.ok(check, `SECURITY.md's row "${row.what}" has no check: add one to CHECKS`);
    check(row);
  });
}

test('every check has its row in SECURITY.md', () => {
  const stale = Object.keys(CHECKS).filter((what) => !ROWS.some((row) => row.what === what));
  assert.deepEqual(stale, [], 'checks whose row is gone');
});
