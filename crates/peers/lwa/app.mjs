// The conformance suite's handlers as a plain web application for the AWS Lambda Web Adapter
// ([LWA], crate `lambda_web_adapter`, binary `lambda-adapter`): send-numbers, conditional-streaming
// and the parts of the probe an HTTP server can express, answering as the Rust examples and
// crates/peers/node/handlers.mjs do, so that only the runtime differs.
//
// What the adapter does with it (LWA src/lib.rs, `Adapter::fetch_response`): a function URL or API
// Gateway event becomes an HTTP request to this server (method, raw path, query, headers, the body
// decoded from base64 when it was), any other event (an InvokeWithResponseStream or Invoke payload)
// a `POST` of the event's JSON text to `AWS_LWA_PASS_THROUGH_PATH` (default `/events`). With
// `AWS_LWA_INVOKE_MODE=response_stream` the HTTP response goes back streamed: its status, headers and
// `Set-Cookie`s become the prelude, its body the stream, one piece per chunk the adapter reads.
//
// So:
// - a handler's "error before the first byte" is this server dropping the connection before it
//   answers (the adapter's request to it fails and the adapter reports that error to `/error`);
// - an "error after the first byte" is dropping the connection in the middle of a chunked body
//   (the adapter's body stream fails; what it does then is the `lwa` column's finding);
// - the probe's raw-prelude, no-prelude and event-shape answers cannot be expressed: the adapter
//   always writes the prelude itself, and this server sees an HTTP request, never the event.
//
// Usage: node app.mjs HANDLER   (send-numbers | conditional-streaming | probe)
// It listens on 127.0.0.1, port `PORT` or else one the system picks, and writes the port as one
// line to the file named by `LWA_APP_PORT_FILE` (a FIFO the bootstrap reads) or else to stdout.
// `GET /__ready` answers 204 for the adapter's readiness check (`AWS_LWA_READINESS_CHECK_PATH`).
// It exits when its parent (the adapter, which the bootstrap became with exec) is gone, so a
// killed function leaves no server behind.

import http from 'node:http';
import fs from 'node:fs';
import {
  CHUNK_PAUSE_MS, KNOWN, LARGE_PATTERN, LARGE_WRITE_BYTES, MB, REDIRECT_LOCATION, decide as decideScenario, sleep, wholeNumber,
} from '../node/scenarios.mjs';

const READY_PATH = '/__ready';
const EVENTS_PATH = process.env.AWS_LWA_PASS_THROUGH_PATH || '/events';

// ---- Reading the request ------------------------------------------------------------------------

/**
 * { raw (true for a pass-through event POSTed to EVENTS_PATH), query, body (Buffer), context }:
 * `context` is the adapter's `x-amzn-lambda-context` header parsed (the Lambda context it got
 * from /next), or null.
 */
function request(req, body) {
  const url = new URL(req.url, 'http://app');
  const query = {};
  for (const [key, value] of url.searchParams) query[key] ??= value;
  let context = null;
  try {
    context = JSON.parse(req.headers['x-amzn-lambda-context'] ?? 'null');
  } catch {
    context = null;
  }
  return { raw: req.method === 'POST' && url.pathname === EVENTS_PATH, query, body, context };
}

/** The body as a JSON object, or null. */
function jsonObject(r) {
  try {
    const value = JSON.parse(r.body.toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** Writes `chunk` and waits for the socket to take it (backpressure). */
async function write(res, chunk) {
  if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
}

/** Ends the answer abruptly: the socket is destroyed, so no terminating chunk (or no answer). */
function dropConnection(res, message) {
  console.error(`${message} (dropping the connection: the web-app form of a handler's error)`);
  res.socket?.destroy();
}

// ---- send-numbers (crates/examples/send-numbers) ------------------------------------------------

async function sendNumbers(r, res) {
  const fields = jsonObject(r) ?? {};
  const count = Math.min(wholeNumber(fields.count) ?? 3, 100);
  const pause = Math.min(wholeNumber(fields.pause_ms) ?? 1000, 10000);
  res.writeHead(200, { 'content-type': 'text/plain', 'x-my-custom-header': 'streaming-example' });
  for (let n = 1; n <= count; n++) {
    await write(res, `Number: ${n}\n`);
    if (n < count) await sleep(pause);
  }
  res.end();
}

// ---- conditional-streaming (crates/examples/conditional-streaming) ------------------------------

/** { name, sizeMb } or { unreadable: why } (../node/scenarios.mjs); a pass-through event has no query. */
function decide(r) {
  return decideScenario(r.raw ? null : r.query, r.body.toString().trim(), jsonObject(r));
}

function head(contentType, name) {
  return { 'content-type': contentType, 'x-scenario': name };
}

function json(res, status, name, body) {
  const headers = head('application/json', name);
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="conditional-streaming"';
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

async function conditionalStreaming(r, res) {
  const decision = decide(r);
  if (decision.unreadable !== undefined) {
    return json(res, 400, 'bad-request', { error: 'bad-request', message: `cannot read the request: ${decision.unreadable}` });
  }
  const { name, sizeMb } = decision;
  switch (name) {
    case 'ok': {
      res.writeHead(200, { ...head('text/plain; charset=utf-8', name), 'set-cookie': ['scenario=ok; Path=/; HttpOnly'] });
      for (let i = 1; i <= 5; i++) {
        await write(res, `chunk ${i} of 5\n`);
        if (i < 5) await sleep(CHUNK_PAUSE_MS);
      }
      res.end();
      return;
    }
    case 'bad-request': return json(res, 400, name, { error: name, message: 'the request was bad, as asked' });
    case 'unauthorized': return json(res, 401, name, { error: name, message: 'no valid credentials, as asked' });
    case 'not-found': return json(res, 404, name, { error: name, message: 'nothing here, as asked' });
    case 'server-error': return json(res, 500, name, { error: name, message: 'the server failed, as asked' });
    case 'fail-before-first-byte':
      return dropConnection(res, 'fail-before-first-byte: failing before the first byte, as asked');
    case 'fail-mid-stream': {
      res.writeHead(200, head('text/plain; charset=utf-8', name));
      await write(res, 'chunk 1, before the failure\n');
      await sleep(CHUNK_PAUSE_MS);
      await write(res, 'chunk 2, before the failure\n');
      await sleep(CHUNK_PAUSE_MS);
      return dropConnection(res, 'fail-mid-stream: failing after the first chunks, as asked');
    }
    case 'slow': {
      res.writeHead(200, head('text/plain; charset=utf-8', name));
      await write(res, 'slow: started, now outliving the timeout\n');
      // Heartbeats until the adapter goes away (the deadline) or 16 minutes pass.
      for (let step = 1; step <= 16 * 60 && !res.destroyed; step++) {
        await sleep(1000);
        if (step % 5 === 0 && !res.destroyed) res.write(`heartbeat ${step / 5}\n`);
      }
      res.end();
      return;
    }
    case 'large': {
      res.writeHead(200, { ...head('application/octet-stream', name), 'x-size-bytes': String(sizeMb * MB) });
      const buffer = Buffer.from(LARGE_PATTERN.repeat(LARGE_WRITE_BYTES / LARGE_PATTERN.length));
      let left = sizeMb * MB;
      while (left > 0 && !res.destroyed) {
        const piece = left >= buffer.length ? buffer : buffer.subarray(0, left);
        left -= piece.length;
        await write(res, piece);
      }
      res.end();
      return;
    }
    case 'empty':
      // Status and headers only, no body at all (NODE issue 97 is about this).
      res.writeHead(204, head('text/plain; charset=utf-8', name));
      res.end();
      return;
    case 'redirect': {
      // A 302 with a chunked body that is empty, the answer of LWA issue 499 (a sign-in
      // callback's redirect): Node sends the head, then only the terminating chunk.
      const headers = head('text/plain; charset=utf-8', name);
      headers.location = REDIRECT_LOCATION;
      headers['transfer-encoding'] = 'chunked';
      res.writeHead(302, headers);
      res.end();
      return;
    }
    default:
      return json(res, 400, 'bad-request', { error: 'unknown-scenario', message: `unknown scenario ${JSON.stringify(name)}`, known: KNOWN });
  }
}

// ---- the probe (crates/conformance/src/probe.rs), as much as HTTP can express -------------------

const LOG_TAIL_LINES = 100;

const NOT_EXPRESSIBLE = {
  'prelude-split': 'the adapter writes the prelude itself, whole; the app cannot write it raw',
  'prelude-no-cookies': 'the adapter writes the prelude itself, always with a cookies key',
  'no-prelude': 'the adapter always writes a prelude; the app cannot stream without one',
  event: 'the app gets an HTTP request, not the event',
  'finish-twice': 'an HTTP response has no finish(); a second end() is not the typed misuse the rule names',
  'write-after-finish': 'a write after end() is a Node stream error, not the typed misuse the rule names',
  'headers-after-body': 'HTTP sends the status and headers before the body; there is no call to set them after',
  'return-without-finish': 'an HTTP handler that never ends its response is the server\'s business, with no typed misuse to report',
};

async function probe(r, res) {
  const name = typeof r.query.probe === 'string' ? r.query.probe : (jsonObject(r)?.probe ?? '');
  const plain = (status) => res.writeHead(status, { 'content-type': 'text/plain', 'x-probe': name });
  switch (name) {
    case 'content-length':
      res.writeHead(200, { 'content-type': 'text/plain', 'x-probe': name, 'content-length': '5' });
      res.end('hello');
      return;
    case 'echo-event':
      // Only a pass-through event is the event itself: the adapter POSTs its JSON text here.
      if (!r.raw) break;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(r.body);
      return;
    case 'background':
      plain(200);
      res.end('answered; working on after the response\n');
      // The work after the response: the adapter has its whole answer at end(); the HTTP request is
      // over, so nothing holds the invocation open for it.
      await sleep(1000);
      console.error('probe background: background work done');
      return;
    case 'echo-context': {
      // The adapter hands the Lambda context it read from /next to the app in x-amzn-lambda-context
      // (LWA src/lib.rs, fetch_response): request_id, deadline (epoch ms), invoked_function_arn,
      // xray_trace_id, client_context, env_config.
      const c = r.context ?? {};
      const env = {};
      for (const key of ['AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_REGION']) {
        env[key] = process.env[key] ?? null;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        request_id: c.request_id ?? null,
        deadline_ms: c.deadline ?? null,
        invoked_function_arn: c.invoked_function_arn ?? null,
        trace_id: c.xray_trace_id ?? null,
        client_context: c.client_context ?? null,
        env,
      }));
      return;
    }
    case 'small-write':
      res.writeHead(200, { 'content-type': 'text/plain' });
      await write(res, 'ten bytes\n');
      await sleep(1500);
      res.end('and the rest, after the pause\n');
      return;
    case 'log-tail':
      for (let n = 1; n <= LOG_TAIL_LINES; n++) {
        const mark = n === 1 ? 'first' : n === LOG_TAIL_LINES ? 'last' : 'middle';
        console.error(`probe log-tail line ${String(n).padStart(3, '0')} of ${LOG_TAIL_LINES} (${mark}) ........................................`);
      }
      plain(200);
      res.end('logged\n');
      return;
    case 'echo-binary': {
      let bytes = r.raw ? undefined : r.body;
      if (r.raw) {
        const fields = jsonObject(r);
        if (fields && typeof fields.base64 === 'string') bytes = Buffer.from(fields.base64, 'base64');
      }
      if (bytes === undefined) {
        plain(400);
        res.end('echo-binary: a raw event needs a "base64" field\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(bytes);
      return;
    }
    case 'multi-value-headers':
      // Repeated header lines; the adapter folds them into the prelude.
      res.writeHead(202, {
        'content-type': 'text/plain', 'x-single': 'one', 'x-both': ['m1', 'm2'], 'x-mv': ['hello', 'world'],
        'set-cookie': ['c1=blue'],
      });
      res.end('multi-value headers');
      return;
    case 'no-content-type':
      // Node's http module adds no Content-Type of its own.
      res.writeHead(200);
      await write(res, 'no content type ');
      res.end('was set\n');
      return;
    default:
      break;
  }
  const why = name === 'echo-event' ? NOT_EXPRESSIBLE.event : NOT_EXPRESSIBLE[name];
  plain(why === undefined ? 400 : 501);
  res.end(why === undefined ? `unknown probe ${JSON.stringify(name)}\n` : `probe ${name} is not expressible behind the web adapter: ${why}\n`);
}

// ---- the server ---------------------------------------------------------------------------------

const HANDLERS = { 'send-numbers': sendNumbers, 'conditional-streaming': conditionalStreaming, probe };
const handlerName = process.argv[2];
const handler = HANDLERS[handlerName];
if (handler === undefined) {
  console.error(`usage: node app.mjs ${Object.keys(HANDLERS).join('|')} (got ${JSON.stringify(handlerName)})`);
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const pieces = [];
  req.on('data', (piece) => pieces.push(piece));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === READY_PATH) {
      res.writeHead(204);
      res.end();
      return;
    }
    handler(request(req, Buffer.concat(pieces)), res).catch((error) => {
      console.error(`${handlerName}: ${error?.stack ?? error}`);
      res.socket?.destroy();
    });
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const line = `${server.address().port}\n`;
  if (process.env.LWA_APP_PORT_FILE) fs.writeFileSync(process.env.LWA_APP_PORT_FILE, line);
  else process.stdout.write(line);
});

// The adapter is this process's parent (the bootstrap exec'd it); when it is gone (killed at a
// deadline, or restarted by the emulator), this server is reparented and goes too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 200).unref();
