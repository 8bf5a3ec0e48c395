#!/usr/bin/env python3
"""A non-Rust AWS SDK against the emulator: boto3's invoke_with_response_stream must decode the
event stream chunk by chunk, as it does against AWS (issue 3: "An AWS SDK other than Rust's,
pointed at the emulator, decodes the event stream chunk by chunk").

Usage: ci/sdk_interop.py TARGET_DIR   (TARGET_DIR holds lambda-stream, send-numbers and
conditional-streaming, e.g. target/debug). Prints one line per check and a closing
"N passed, N failed" line; exits non-zero when a check fails.
"""

import json
import os
import subprocess
import sys
import time

import boto3
from botocore.config import Config


def start_emulator(target_dir, bootstrap, *extra):
    cli = os.path.join(target_dir, "lambda-stream")
    proc = subprocess.Popen(
        [cli, "emulate", "--port", "0", *extra, "--", os.path.join(target_dir, bootstrap)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"emulate did not print its address, got {line!r}")
    return proc, line[len("listening on "):]


def client(url):
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def collect(response):
    """Returns [(seconds since the call, payload bytes)] and the InvokeComplete event."""
    started = time.monotonic()
    chunks, complete = [], None
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append((time.monotonic() - started, event["PayloadChunk"]["Payload"]))
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    return chunks, complete


def check_send_numbers(lam):
    response = lam.invoke_with_response_stream(FunctionName="send-numbers", Payload=json.dumps({"pause_ms": 300}))
    assert response["StatusCode"] == 200, response["StatusCode"]
    chunks, complete = collect(response)
    body = b"".join(payload for _, payload in chunks)
    assert body.endswith(b"Number: 1\nNumber: 2\nNumber: 3\n"), body
    # The prelude reaches SDK callers unstripped (spec section 1).
    assert b'"statusCode":200' in body and b"\0" * 8 in body, body
    numbered = [t for t, payload in chunks if payload.startswith(b"Number: ")]
    assert len(numbered) == 3, f"expected one PayloadChunk per write, got {[p for _, p in chunks]}"
    spread = numbered[-1] - numbered[0]
    # The handler pauses 300 ms between writes: a buffered stream would deliver all at once.
    assert spread >= 0.45, f"chunks arrived within {spread:.3f}s of each other: buffered?"
    assert complete is not None and not complete.get("ErrorCode"), complete
    return f"3 PayloadChunks spread over {spread:.2f}s, InvokeComplete without error"


def check_mid_stream_error(lam):
    response = lam.invoke_with_response_stream(
        FunctionName="conditional-streaming", Payload=json.dumps({"scenario": "fail-mid-stream"})
    )
    chunks, complete = collect(response)
    assert len(chunks) >= 2, chunks
    assert complete is not None, "no InvokeComplete event"
    assert complete.get("ErrorCode") == "Function.ScenarioFailure", complete
    details = json.loads(complete["ErrorDetails"])
    assert details["errorType"] == "Function.ScenarioFailure", details
    return f"{len(chunks)} chunks, then InvokeComplete ErrorCode={complete['ErrorCode']}"


def check_unknown_function(lam):
    try:
        lam.invoke_with_response_stream(FunctionName="no-such-function", Payload=b"{}")
    except lam.exceptions.ResourceNotFoundException as e:
        return f"ResourceNotFoundException: {e.response['Error'].get('Message', '')}"
    raise AssertionError("no ResourceNotFoundException for an unknown function")


def main():
    target_dir = sys.argv[1] if len(sys.argv) > 1 else "target/debug"
    passed = failed = 0
    for bootstrap, checks in [
        ("send-numbers", [check_send_numbers, check_unknown_function]),
        ("conditional-streaming", [check_mid_stream_error]),
    ]:
        proc, url = start_emulator(target_dir, bootstrap)
        try:
            lam = client(url)
            for check in checks:
                try:
                    print(f"ok   boto3 {check.__name__}: {check(lam)}")
                    passed += 1
                except Exception as e:  # report every check, then fail the run
                    print(f"FAIL boto3 {check.__name__}: {type(e).__name__}: {e}")
                    failed += 1
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
