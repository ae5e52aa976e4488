// The demo page's event log: listens to <p2p-share>'s events the way a host page would and lists
// them. Progress arrives many times a second, so it updates one line per peer instead of adding.

const log = document.getElementById('log');
const progressLines = new Map();

function time() {
  return new Date().toLocaleTimeString();
}

function line(type, text) {
  const item = document.createElement('li');
  item.dataset.type = type;
  item.textContent = `${time()} ${type} ${text}`;
  log.append(item);
  item.scrollIntoView({ block: 'nearest' });
  return item;
}

function percent(bytes, total) {
  return total > 0 ? Math.floor((bytes / total) * 100) : 100;
}

document.addEventListener('p2p-share-link', (event) => {
  line(event.type, event.detail.link);
});

document.addEventListener('p2p-share-progress', (event) => {
  const { bytes, total, peer } = event.detail;
  const text = `${peer}: ${bytes} of ${total} bytes (${percent(bytes, total)}%)`;
  const existing = progressLines.get(peer);
  if (existing?.isConnected) existing.textContent = `${time()} ${event.type} ${text}`;
  else progressLines.set(peer, line(event.type, text));
});

document.addEventListener('p2p-share-complete', (event) => {
  const { name, size, sha256 } = event.detail;
  line(event.type, `${name}, ${size} bytes, sha256 ${sha256}`);
});

document.addEventListener('p2p-share-error', (event) => {
  line(event.type, `${event.detail.code}: ${event.detail.message}`);
});

document.getElementById('clear-log').addEventListener('click', () => {
  log.replaceChildren();
  progressLines.clear();
});
