/**
 * For browser tests that need the real signalling service: its address. The test runner starts
 * the service on a free port on the first request and closes it when the run ends (see
 * web-test-runner.config.mjs).
 */
export async function serviceUrl(): Promise<string> {
  const res = await fetch('/__service-url');
  const body = (await res.json()) as { url?: string; error?: string };
  if (!res.ok || !body.url) throw new Error(body.error ?? `/__service-url answered ${res.status}`);
  return body.url;
}
