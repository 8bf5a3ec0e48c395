#!/usr/bin/env python3
"""Cold start of Lambda bootstraps: process spawn -> first `GET /next` on a Runtime API socket.

    python3 ci/cold_start.py [--runs N] LABEL=BINARY [LABEL=BINARY ...]

For each run, a fresh listening socket on 127.0.0.1 port 0 plays the Runtime API; the clock starts
just before the process is spawned (with the variables Lambda sets, AWS_LAMBDA_RUNTIME_API
pointing at the socket) and stops when the request line `GET /2018-06-01/runtime/invocation/next`
has arrived. The process is then killed. Binaries are run in turn (A, B, A, B, ...) so that load
changes on a shared machine fall on all of them alike; two warm-up runs each are not counted.
Prints the median, the quartiles and the extremes in milliseconds. Loopback only.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

NEXT = b"GET /2018-06-01/runtime/invocation/next"


def one_start(binary: str, timeout: float = 10.0) -> float:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(timeout)
        port = listener.getsockname()[1]
        env = dict(os.environ)
        env.update(
            AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}",
            AWS_LAMBDA_FUNCTION_NAME="cold-start",
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
            AWS_REGION="us-east-1",
            RUST_LOG="warn",
        )
        started = time.perf_counter()
        process = subprocess.Popen(
            [binary], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(timeout)
                head = b""
                while b"\r\n" not in head:
                    chunk = connection.recv(4096)
                    if not chunk:
                        raise RuntimeError(f"{binary} closed the connection before a request line")
                    head += chunk
                arrived = time.perf_counter()
            if not head.startswith(NEXT):
                raise RuntimeError(f"{binary}: the first request was {head[:80]!r}, not GET /next")
            return (arrived - started) * 1000.0
        finally:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("binaries", nargs="+", metavar="LABEL=BINARY")
    args = parser.parse_args()
    subjects = []
    for item in args.binaries:
        label, _, path = item.partition("=")
        if not path or not os.access(path, os.X_OK):
            print(f"cold_start: {item!r} is not LABEL=EXECUTABLE", file=sys.stderr)
            return 2
        subjects.append((label, path))
    times = {label: [] for label, _ in subjects}
    for run in range(args.runs + 2):
        for label, path in subjects:
            ms = one_start(path)
            if run >= 2:
                times[label].append(ms)
    print(f"cold start, spawn -> first GET /next, {args.runs} runs each (ms)")
    print("| binary | median | p25 | p75 | min | max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, _ in subjects:
        values = sorted(times[label])
        q1, _, q3 = statistics.quantiles(values, n=4)
        print(
            f"| {label} | {statistics.median(values):.2f} | {q1:.2f} | {q3:.2f} | {values[0]:.2f} | {values[-1]:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
