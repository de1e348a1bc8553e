#!/usr/bin/env python3
"""lightsout against its peer, Cloud Custodian (PyPI `c7n`), on the same seeded environment.

For each tool, on a fresh moto seeded with the reference environment: a sleep, a repeated sleep
(no-op) and a wake (lightsout: two passes, databases then services; c7n: one run of its policies),
counting the requests moto received by operation, the wall time, and whether the environment
ended exactly as it was seeded. Run twice: straight against moto, and through a proxy that adds
30 ms to every request (about an AWS API call from inside the region); moto alone serialises
everything, so the second is the figure users would see.

Usage: benches/peer_c7n.py   (after `cargo build --release` and `pip install c7n`)
"""

import collections
import http.client
import http.server
import json
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "lightsout")
MOTO_PORT = 5097
MOTO = f"http://127.0.0.1:{MOTO_PORT}"
CUSTODIAN = os.path.join(os.path.dirname(sys.executable), "custodian")

SLEEP_POLICY = """
policies:
  - name: ecs-sleep
    resource: ecs-service
    filters: [{"tag:Environment": staging}]
    actions: [{type: resize, min-capacity: 0, max-capacity: 0, desired: 0, save-options-tag: OffHoursPrevious}]
  - name: rds-sleep
    resource: rds
    filters: [{"tag:Environment": staging}]
    actions: [stop]
"""
WAKE_POLICY = """
policies:
  - name: rds-wake
    resource: rds
    filters: [{"tag:Environment": staging}]
    actions: [start]
  - name: ecs-wake
    resource: ecs-service
    filters: [{"tag:Environment": staging}]
    actions: [{type: resize, restore-options-tag: OffHoursPrevious}]
"""
SCHEDULE = """
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]
[[ecs.select]]
clusters = ["app-staging-cluster", "app-production-cluster"]
tags = { Environment = "staging" }
[[rds.select]]
tags = { Environment = "staging" }
"""


class Delay(http.server.BaseHTTPRequestHandler):
    """Adds a fixed delay to every request, then forwards it to moto."""
    delay = 0.0
    protocol_version = "HTTP/1.1"

    def _forward(self):
        time.sleep(self.delay)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection("127.0.0.1", MOTO_PORT)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def log_message(self, *args):
        pass


def moto_api(path):
    urllib.request.urlopen(urllib.request.Request(f"{MOTO}/moto-api/{path}", method="POST"))


def recorded():
    text = urllib.request.urlopen(f"{MOTO}/moto-api/recorder/download-recording").read().decode()
    ops = collections.Counter()
    for line in text.splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        target = next((v for k, v in e["headers"].items() if k.lower() == "x-amz-target"), None)
        if target:
            ops[target.rsplit(".", 1)[-1]] += 1
            continue
        body = e.get("body") or ""
        if e.get("body_encoded"):
            body = base64.b64decode(body).decode(errors="replace")
        action = next((kv[7:] for kv in body.split("&") if kv.startswith("Action=")), "?")
        ops[action] += 1
    return ops


def state():
    kw = dict(endpoint_url=MOTO, region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t")
    ecs, aas, rds = (boto3.client(s, **kw) for s in ("ecs", "application-autoscaling", "rds"))
    out = {}
    for name in ("backend", "frontend"):
        s = ecs.describe_services(cluster="app-staging-cluster", services=[name], include=["TAGS"])["services"][0]
        out[name] = (s["desiredCount"], sorted(t["key"] for t in s.get("tags", []) if t["key"] not in ("Environment", "Team")))
    t = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/app-staging-cluster/backend"])["ScalableTargets"][0]
    out["backend bounds"] = (t["MinCapacity"], t["MaxCapacity"])
    out["db"] = rds.describe_db_instances(DBInstanceIdentifier="app-staging-db")["DBInstances"][0]["DBInstanceStatus"]
    out["production api"] = ecs.describe_services(cluster="app-production-cluster", services=["api"])["services"][0]["desiredCount"]
    return out


def phase(run):
    moto_api("recorder/reset-recording")
    moto_api("recorder/start-recording")
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    moto_api("recorder/stop-recording")
    return wall, recorded()


def compare(endpoint, label):
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "staging.toml"), "w") as f:
        f.write(SCHEDULE)
    for name, text in (("sleep.yml", SLEEP_POLICY), ("wake.yml", WAKE_POLICY)):
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t",
               AWS_DEFAULT_REGION="eu-west-1", AWS_REGION="eu-west-1", LIGHTSOUT_LOG="error")
    lo = lambda at: subprocess.run([BIN, "-s", work, "apply", "--at", at], env=env, capture_output=True)
    c7n = lambda policy: subprocess.run([CUSTODIAN, "run", "--cache-period", "0", "-r", "eu-west-1", "-s",
                                         os.path.join(work, "out"), os.path.join(work, policy)], env=env, capture_output=True)
    tools = {
        "lightsout": (lambda: lo("2026-12-02T22:00:00Z"), lambda: lo("2026-12-02T22:05:00Z"),
                      lambda: (lo("2026-12-03T07:05:00Z"), lo("2026-12-03T07:06:00Z"))),
        "c7n": (lambda: c7n("sleep.yml"), lambda: c7n("sleep.yml"), lambda: c7n("wake.yml")),
    }
    print(f"\n== {label}")
    for tool, (sleep, noop, wake) in tools.items():
        moto_api("reset")
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/support/seed.py"), MOTO], check=True, stdout=subprocess.DEVNULL)
        seeded = state()
        results = [(name, *phase(fn)) for name, fn in (("sleep", sleep), ("no-op", noop), ("wake", wake))]
        after = state()
        total_requests = sum(sum(ops.values()) for _, _, ops in results)
        total_wall = sum(w for _, w, _ in results)
        print(f"{tool}: {total_requests} requests, {total_wall:.2f} s in all; restored exactly: {after == seeded}")
        for name, wall, ops in results:
            writes = sum(n for op, n in ops.items() if not op.startswith(("Describe", "List", "Get")))
            print(f"  {name:6} {wall:6.2f} s  {sum(ops.values()):4} requests ({writes} writes)  {dict(sorted(ops.items()))}")
        if after != seeded:
            print(f"  seeded: {seeded}\n  after:  {after}")


def main():
    work = tempfile.mkdtemp()
    moto = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/support/moto_strict.py"), str(MOTO_PORT)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{MOTO}/moto-api/")
                break
            except OSError:
                time.sleep(0.1)
        compare(MOTO, "straight against moto")
        Delay.delay = 0.030
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Delay)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        compare(f"http://127.0.0.1:{proxy.server_address[1]}", "through a proxy adding 30 ms per request")
    finally:
        moto.kill()


main()
