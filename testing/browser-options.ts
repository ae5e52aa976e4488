/**
 * How every test and benchmark starts a browser: the executables, Chromium's flags and
 * Firefox's preferences. One definition for the element tests
 * (web-test-runner.config.mjs), the end-to-end tests and the benchmarks. Imports nothing, so the
 * test runner's config can load it without starting anything.
 */

export const CHROME_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * The flags that spare a hidden page the throttling a real browser applies to it (timers woken at
 * most once a second, a renderer of lower priority). Puppeteer adds them by default too; a test
 * of a hidden page leaves them out (`launchBrowser(…, { throttled: true })`).
 */
export const BACKGROUND_FLAGS: readonly string[] = [
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export const CHROMIUM_ARGS: readonly string[] = [
  // Headless as root on a machine without a GPU, and nothing that phones home.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // Every peer is a background tab of a headless browser: its timers must not be throttled.
  ...BACKGROUND_FLAGS,
];

/** Firefox preferences that save every download to `downloadDir` without asking. */
export function firefoxPrefs(downloadDir: string): Record<string, string | number | boolean> {
  return {
    'browser.download.dir': downloadDir,
    'browser.download.folderList': 2,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
    'browser.download.start_downloads_in_tmp_dir': false,
    'browser.download.alwaysOpenPanel': false,
    'browser.download.panel.shown': true,
  };
}
