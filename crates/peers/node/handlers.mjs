// The conformance suite's three handlers written for Node on AWS's reference runtime, the
// `aws-lambda-ric` npm package: send-numbers, conditional-streaming and the probe, answering byte
// for byte as the Rust examples do (crates/examples/*/README.md, crates/conformance/src/probe.rs),
// so that only the runtime differs. Streaming uses what AWS documents for Node: the global
// `awslambda.streamifyResponse(handler)` and `awslambda.HttpResponseStream.from(stream, metadata)`
// (AWS Lambda Developer Guide, "Response streaming for Lambda functions", Node.js).
//
// The runtime loads these by `_HANDLER` (`handlers.sendNumbers`, `handlers.conditionalStreaming`,
// `handlers.probe`) from `LAMBDA_TASK_ROOT` (this directory); see ./bootstrap.

import { CHUNK_PAUSE_MS, KNOWN, LARGE_PATTERN, LARGE_WRITE_BYTES, MB, REDIRECT_LOCATION, decide as decideScenario, sleep, wholeNumber } from './scenarios.mjs';

// ---- Reading the event (crates/examples/event-input) ------------------------------------------

/**
 * An HTTP request — a function URL's (payload 2.0) or an API Gateway REST API's (payload 1.0,
 * told apart by its `httpMethod`) — or a raw event: { url (true for either HTTP shape), query,
 * body (Buffer) }.
 */
function request(event) {
  const hasContext =
    event !== null && typeof event === 'object' &&
    typeof event.requestContext === 'object' && event.requestContext !== null;
  const isUrl = hasContext && (event.version === '2.0' || typeof event.httpMethod === 'string');
  if (!isUrl) {
    const raw = typeof event === 'string' ? event : JSON.stringify(event ?? null);
    return { url: false, query: {}, body: Buffer.from(raw), event };
  }
  let body = Buffer.alloc(0);
  if (typeof event.body === 'string') {
    body = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body);
  }
  return { url: true, query: event.queryStringParameters ?? {}, body, event };
}

/** The body as a JSON object, or null. */
function jsonObject(req) {
  if (!req.url) {
    const e = req.event;
    return e !== null && typeof e === 'object' && !Array.isArray(e) ? e : null;
  }
  try {
    const value = JSON.parse(req.body.toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

// ---- send-numbers (crates/examples/send-numbers) ------------------------------------------------

export const sendNumbers = awslambda.streamifyResponse(async (event, responseStream) => {
  const fields = jsonObject(request(event)) ?? {};
  const count = Math.min(wholeNumber(fields.count) ?? 3, 100);
  const pause = Math.min(wholeNumber(fields.pause_ms) ?? 1000, 10000);
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { 'content-type': 'text/plain', 'x-my-custom-header': 'streaming-example' },
  });
  for (let n = 1; n <= count; n++) {
    stream.write(`Number: ${n}\n`);
    if (n < count) await sleep(pause);
  }
  stream.end();
});

// ---- conditional-streaming (crates/examples/conditional-streaming) ------------------------------

const FAILURE_TYPE = 'Function.ScenarioFailure';

function failure(message) {
  const error = new Error(message);
  // The Node runtime reports error.name as the error type (its formatError).
  error.name = FAILURE_TYPE;
  return error;
}

/** { name, sizeMb } or { unreadable: why } (./scenarios.mjs). */
function decide(event) {
  const req = request(event);
  return decideScenario(req.url ? req.query : null, req.body.toString().trim(), jsonObject(req));
}

function head(status, contentType, name) {
  return { statusCode: status, headers: { 'content-type': contentType, 'x-scenario': name } };
}

function json(responseStream, status, name, body) {
  const metadata = head(status, 'application/json', name);
  if (status === 401) metadata.headers['www-authenticate'] = 'Bearer realm="conditional-streaming"';
  const stream = awslambda.HttpResponseStream.from(responseStream, metadata);
  stream.write(JSON.stringify(body));
  stream.end();
}

export const conditionalStreaming = awslambda.streamifyResponse(async (event, responseStream) => {
  const decision = decide(event);
  if (decision.unreadable !== undefined) {
    return json(responseStream, 400, 'bad-request', { error: 'bad-request', message: `cannot read the request: ${decision.unreadable}` });
  }
  const { name, sizeMb } = decision;
  switch (name) {
    case 'ok': {
      const metadata = head(200, 'text/plain; charset=utf-8', name);
      metadata.cookies = ['scenario=ok; Path=/; HttpOnly'];
      const stream = awslambda.HttpResponseStream.from(responseStream, metadata);
      for (let i = 1; i <= 5; i++) {
        stream.write(`chunk ${i} of 5\n`);
        if (i < 5) await sleep(CHUNK_PAUSE_MS);
      }
      stream.end();
      return;
    }
    case 'bad-request': return json(responseStream, 400, name, { error: name, message: 'the request was bad, as asked' });
    case 'unauthorized': return json(responseStream, 401, name, { error: name, message: 'no valid credentials, as asked' });
    case 'not-found': return json(responseStream, 404, name, { error: name, message: 'nothing here, as asked' });
    case 'server-error': return json(responseStream, 500, name, { error: name, message: 'the server failed, as asked' });
    case 'fail-before-first-byte':
      throw failure('fail-before-first-byte: failing before the first byte, as asked');
    case 'fail-mid-stream': {
      const stream = awslambda.HttpResponseStream.from(responseStream, head(200, 'text/plain; charset=utf-8', name));
      stream.write('chunk 1, before the failure\n');
      await sleep(CHUNK_PAUSE_MS);
      stream.write('chunk 2, before the failure\n');
      await sleep(CHUNK_PAUSE_MS);
      throw failure('fail-mid-stream: failing after the first chunks, as asked');
    }
    case 'slow': {
      const stream = awslambda.HttpResponseStream.from(responseStream, head(200, 'text/plain; charset=utf-8', name));
      stream.write('slow: started, now outliving the timeout\n');
      for (let step = 1; step <= 16 * 60; step++) {
        await sleep(1000);
        if (step % 5 === 0) stream.write(`heartbeat ${step / 5}\n`);
      }
      stream.end();
      return;
    }
    case 'large': {
      const metadata = head(200, 'application/octet-stream', name);
      metadata.headers['x-size-bytes'] = String(sizeMb * MB);
      const stream = awslambda.HttpResponseStream.from(responseStream, metadata);
      const buffer = Buffer.from(LARGE_PATTERN.repeat(LARGE_WRITE_BYTES / LARGE_PATTERN.length));
      let left = sizeMb * MB;
      while (left > 0) {
        const piece = left >= buffer.length ? buffer : buffer.subarray(0, left);
        left -= piece.length;
        // Respect backpressure, as a streaming function should.
        if (!stream.write(piece)) await new Promise((resolve) => stream.once('drain', resolve));
      }
      stream.end();
      return;
    }
    case 'empty': {
      // Status and headers only: no body write at all (NODE issue 97 is about this case).
      const stream = awslambda.HttpResponseStream.from(responseStream, head(204, 'text/plain; charset=utf-8', name));
      stream.end();
      return;
    }
    case 'redirect': {
      // The same with a 302, whose caller reads a body until it ends (LWA issue 499).
      const metadata = head(302, 'text/plain; charset=utf-8', name);
      metadata.headers.location = REDIRECT_LOCATION;
      const stream = awslambda.HttpResponseStream.from(responseStream, metadata);
      stream.end();
      return;
    }
    default:
      return json(responseStream, 400, 'bad-request', { error: 'unknown-scenario', message: `unknown scenario ${JSON.stringify(name)}`, known: KNOWN });
  }
});

// ---- the probe (crates/conformance/src/probe.rs), as much as Node can express ---------------------

const LOG_TAIL_LINES = 100;

function probeName(event) {
  const req = request(event);
  if (req.url && typeof req.query.probe === 'string') return req.query.probe;
  const fields = jsonObject(req);
  return fields && typeof fields.probe === 'string' ? fields.probe : '';
}

const NOT_EXPRESSIBLE = {
  'finish-twice': 'Node streams have no finish(): end() twice is not the typed FinishAfterFinish misuse the rule names',
  'write-after-finish': 'Node streams report a write after end() as an error event, not the typed WriteAfterFinish misuse the rule names',
  'headers-after-body': 'HttpResponseStream.from() takes the metadata before the first write; there is no call to set it after the body',
  'return-without-finish': 'a streamified handler that returns without end() is the runtime\'s business, with no typed misuse to report',
};

export const probe = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const name = probeName(event);
  const plain = (status) => awslambda.HttpResponseStream.from(responseStream, {
    statusCode: status, headers: { 'content-type': 'text/plain', 'x-probe': name },
  });
  switch (name) {
    case 'prelude-split': {
      responseStream.setContentType('application/vnd.awslambda.http-integration-response');
      responseStream.write('{"statusCode":201,"headers":{"x-probe":');
      responseStream.write('"prelude-split","content-type":"text/plain"}}');
      responseStream.write(Buffer.alloc(3));
      responseStream.write(Buffer.concat([Buffer.alloc(5), Buffer.from('first,')]));
      responseStream.write(' second');
      responseStream.end();
      return;
    }
    case 'content-length': {
      const stream = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 200, headers: { 'content-type': 'text/plain', 'x-probe': name, 'content-length': '5' },
      });
      stream.write('hello');
      stream.end();
      return;
    }
    case 'no-prelude':
      responseStream.setContentType('text/csv');
      responseStream.write('a,b\n');
      responseStream.write('1,2\n');
      responseStream.end();
      return;
    case 'echo-event':
      // The event as the runtime handed it over: Node's RIC parses it as JSON first, so what
      // comes back is that value written out again (its spacing and key order may differ).
      responseStream.setContentType('application/octet-stream');
      responseStream.write(JSON.stringify(event));
      responseStream.end();
      return;
    case 'background': {
      // Work after the response is finished (the rule: the caller's answer ends at end(), not
      // when the handler returns).
      const stream = plain(200);
      stream.write('answered; working on after the response\n');
      stream.end();
      await sleep(1000);
      console.error('probe background: background work done');
      return;
    }
    case 'echo-context': {
      // Node's context has no deadline field: getRemainingTimeInMillis() is the deadline the
      // runtime read from Lambda-Runtime-Deadline-Ms minus now, so now plus it is that deadline.
      const env = {};
      for (const key of ['AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_REGION']) {
        env[key] = process.env[key] ?? null;
      }
      const out = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 200, headers: { 'content-type': 'application/json' },
      });
      out.write(JSON.stringify({
        request_id: context.awsRequestId,
        deadline_ms: Date.now() + context.getRemainingTimeInMillis(),
        invoked_function_arn: context.invokedFunctionArn,
        // _X_AMZN_TRACE_ID is the documented place (RT-ENV); this runtime also keeps it on the context.
        trace_id: process.env._X_AMZN_TRACE_ID ?? context.xRayTraceId ?? null,
        client_context: context.clientContext ?? null,
        env,
      }));
      out.end();
      return;
    }
    case 'small-write':
      responseStream.setContentType('text/plain');
      responseStream.write('ten bytes\n');
      await sleep(1500);
      responseStream.write('and the rest, after the pause\n');
      responseStream.end();
      return;
    case 'log-tail': {
      for (let n = 1; n <= LOG_TAIL_LINES; n++) {
        const mark = n === 1 ? 'first' : n === LOG_TAIL_LINES ? 'last' : 'middle';
        console.error(`probe log-tail line ${String(n).padStart(3, '0')} of ${LOG_TAIL_LINES} (${mark}) ........................................`);
      }
      const stream = plain(200);
      stream.write('logged\n');
      stream.end();
      return;
    }
    case 'echo-binary': {
      const req = request(event);
      let bytes;
      if (req.url) bytes = req.body;
      else if (event && typeof event.base64 === 'string') bytes = Buffer.from(event.base64, 'base64');
      if (bytes === undefined) {
        const stream = plain(400);
        stream.write('echo-binary: a raw event needs a "base64" field\n');
        stream.end();
        return;
      }
      responseStream.setContentType('application/octet-stream');
      responseStream.write(bytes);
      responseStream.end();
      return;
    }
    case 'event': {
      // Node hands the handler the event parsed, so this is its JSON written out again (compact,
      // as API Gateway and the emulator send it), not the posted bytes.
      const stream = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 200, headers: { 'content-type': 'application/json', 'x-probe': 'event' },
      });
      stream.write(JSON.stringify(event));
      stream.end();
      return;
    }
    case 'multi-value-headers': {
      // The prelude's multiValueHeaders, which API Gateway merges over headers.
      const stream = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 202,
        headers: { 'content-type': 'text/plain', 'x-single': 'one', 'x-both': 'from-headers' },
        multiValueHeaders: { 'x-both': ['m1', 'm2'], 'x-mv': ['hello', 'world'] },
        cookies: ['c1=blue'],
      });
      stream.write('multi-value headers');
      stream.end();
      return;
    }
    case 'prelude-no-cookies':
      responseStream.setContentType('application/vnd.awslambda.http-integration-response');
      responseStream.write('{"statusCode":202,"headers":{"x-probe":"prelude-no-cookies","content-type":"text/plain"}}');
      responseStream.write(Buffer.alloc(8));
      responseStream.write('no cookies key in the prelude\n');
      responseStream.end();
      return;
    case 'no-content-type':
      responseStream.write('no content type ');
      responseStream.write('was set\n');
      responseStream.end();
      return;
    default: {
      const why = NOT_EXPRESSIBLE[name];
      const stream = plain(why === undefined ? 400 : 501);
      stream.write(why === undefined ? `unknown probe ${JSON.stringify(name)}\n` : `probe ${name} is not expressible on Node: ${why}\n`);
      stream.end();
    }
  }
});
