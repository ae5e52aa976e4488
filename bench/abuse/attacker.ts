/**
 * Runs one attack of bench/abuse/attacks.ts in this process until SIGTERM, then prints its tally
 * as one JSON line: `node --import tsx bench/abuse/attacker.ts <attack> <service url>`.
 */
import { ATTACKS, type Tally } from './attacks.js';

const [name = '', base = ''] = process.argv.slice(2);
const attack = ATTACKS[name];
if (!attack || !base) {
  console.error(`usage: attacker.ts <${Object.keys(ATTACKS).join('|')}> <url>`);
  process.exit(2);
}
const tally: Tally = { sent: 0, refused: 0, dropped: 0 };
const stop = new AbortController();
const finish = () => {
  console.log(JSON.stringify(tally));
  process.exit(0);
};
process.once('SIGTERM', () => {
  stop.abort();
  // Sockets close as each lane notices; whatever is still open goes with the process.
  setTimeout(finish, 500);
});
attack(base, stop.signal, tally).catch((err: unknown) => {
  console.error(`attack ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  finish();
});
