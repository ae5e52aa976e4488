import { MemoryRoomStore } from './memory.js';
import { roomStoreSuite } from './store-suite.js';

roomStoreSuite('memory', (options) => new MemoryRoomStore(options));
