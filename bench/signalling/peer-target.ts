/**
 * Child process for the signalling benchmark: the `peer` server (PeerJS's signalling server) on
 * 127.0.0.1, a free port, with room for the sockets the benchmark will open. Prints
 * `listening <port>` and runs until killed. Our own service is benchmarked as it ships
 * (`node dist/server.js`), so this file is only the PeerJS side.
 */
import { startPeerServer } from '../lib/peer-server.js';

const sockets = Number(process.argv[2] ?? 10_000);
const { port } = await startPeerServer({
  // Its default cap is 5,000 clients; the benchmark asks both servers to hold the same number.
  concurrent_limit: sockets + 100,
});
process.stdout.write(`listening ${port}\n`);
