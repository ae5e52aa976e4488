#!/usr/bin/env node
// `npx p2p-share-service`: the signalling service of an installed package, which also serves the
// widget (dist/p2p-share.js) and the demo page from the package's files. It is configured by the
// environment (docs/configuration.md) and runs as `npm run serve` does, without Node flags: pass
// those in NODE_OPTIONS.
import '../dist/server.js';
