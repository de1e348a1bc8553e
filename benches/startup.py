#!/usr/bin/env python3
"""Start-up figures for the release binary (prints them; changes nothing outside /tmp).

- Lambda init: process start until it asks the (fake, loopback) Lambda Runtime API for its first
  event, i.e. what a cold start costs lightsout itself (target: under 50 ms).
- CLI: a whole `lightsout plan` of the reference environment against moto, and `lightsout check`.

Usage: benches/startup.py [RUNS]   (after `cargo build --release`; or LIGHTSOUT_BIN=path/to/bootstrap)
"""

import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# LIGHTSOUT_BIN: another binary, e.g. the Lambda zip's bootstrap (deploy/build-lambda.sh).
BIN = os.environ.get("LIGHTSOUT_BIN") or os.path.join(ROOT, "target", "release", "lightsout")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
first_poll = threading.Event()


class Runtime(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # /2018-06-01/runtime/invocation/next
        first_poll.set()
        time.sleep(0.5)  # hold the poll; the process is killed meanwhile
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


def lambda_init():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(
        os.environ,
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
        AWS_LAMBDA_FUNCTION_NAME="lightsout",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/lightsout",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        AWS_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        LIGHTSOUT_STORE="dynamodb:lightsout",
        LIGHTSOUT_SCHEDULES=os.path.join(ROOT, "schedules"),
        LIGHTSOUT_TOKENS="bench bench-token-0123456789",
        LIGHTSOUT_LOG="warn",
    )
    times = []
    for _ in range(RUNS):
        first_poll.clear()
        start = time.perf_counter()
        proc = subprocess.Popen([BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not first_poll.wait(10):
            proc.kill()
            sys.exit("the binary never polled the runtime API")
        times.append((time.perf_counter() - start) * 1000)
        proc.kill()
        proc.wait()
    server.shutdown()
    return times


def cli_runs():
    port = 5099
    work = tempfile.mkdtemp()
    moto = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/support/moto_strict.py"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/")
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/support/seed.py"), f"http://127.0.0.1:{port}"],
                       check=True, stdout=subprocess.DEVNULL)
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_REGION="eu-west-1",
                   AWS_ACCESS_KEY_ID="b", AWS_SECRET_ACCESS_KEY="b", LIGHTSOUT_LOG="warn")
        schedules = os.path.join(ROOT, "tests/support/demo-schedules")
        out = {}
        for name, args in [("check", [BIN, "check", schedules]),
                           ("plan (7 describe calls to moto)", [BIN, "-s", schedules, "plan", "--at", "2026-12-02T22:00:00Z"])]:
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append((time.perf_counter() - start) * 1000)
            out[name] = times
        return out
    finally:
        moto.kill()


def show(name, times):
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    print(f"{name}: median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms, min {times[0]:.1f} ms ({len(times)} runs)")


show("Lambda init (start to first runtime API poll)", lambda_init())
for name, times in cli_runs().items():
    show(f"lightsout {name}", times)
