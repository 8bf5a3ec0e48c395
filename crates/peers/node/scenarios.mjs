// What the Node handlers (./handlers.mjs, on AWS's runtime interface client) and the web app
// behind the AWS Lambda Web Adapter (../lwa/app.mjs) share: how conditional-streaming picks its
// scenario, and the constants its answers are made of, as the Rust example has them
// (crates/examples/conditional-streaming/src/scenario.rs), so that the peers differ only in the
// runtime they run on.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// The pause between the timed writes of `ok` and `fail-mid-stream`: the Rust example's CHUNK_PAUSE,
// which the scenarios time.
export const CHUNK_PAUSE_MS = 300;
export const KNOWN = [
  'ok', 'bad-request', 'unauthorized', 'not-found', 'server-error',
  'fail-before-first-byte', 'fail-mid-stream', 'slow', 'large', 'empty', 'redirect',
];
// Where `redirect` (302, no body) points: the Rust example's REDIRECT_LOCATION.
export const REDIRECT_LOCATION = '?scenario=ok';
export const LARGE_PATTERN = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n';
export const LARGE_WRITE_BYTES = 64 * 1024;
export const MB = 1_000_000;

export function wholeNumber(value) {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * { name, sizeMb } or { unreadable: why }. `query` is an HTTP request's query parameters (null for
 * a raw event): its `scenario` and `size_mb` win when it names a scenario. Otherwise the body:
 * `text` (trimmed) empty or `null` is `ok`, else `fields` (the body as a JSON object, or null)
 * gives `scenario` and `size_mb`.
 */
export function decide(query, text, fields) {
  if (query && typeof query.scenario === 'string') {
    const raw = query.size_mb;
    const size = raw === undefined ? 10 : Number(raw);
    if (!Number.isInteger(size) || size < 0) return { unreadable: `size_mb=${JSON.stringify(raw)} is not a whole number of MB` };
    return { name: query.scenario, sizeMb: Math.min(size, 200) };
  }
  if (text === '' || text === 'null') return { name: 'ok', sizeMb: 10 };
  if (fields === null) return { unreadable: 'the body is not a JSON object' };
  if (fields.scenario === undefined) return { name: 'ok', sizeMb: 10 };
  if (typeof fields.scenario !== 'string') return { unreadable: '"scenario" must be a string' };
  const size = fields.size_mb === undefined ? 10 : wholeNumber(fields.size_mb);
  if (size === undefined) return { unreadable: `"size_mb" must be a whole number of MB, got ${JSON.stringify(fields.size_mb)}` };
  return { name: fields.scenario, sizeMb: Math.min(size, 200) };
}
