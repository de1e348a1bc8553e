"""Give the demo a week of real history (deploy/local/demo.sh runs this before `lightsout serve`).

Usage: python3 seed_history.py LIGHTSOUT_BINARY [DAYS]

Runs the real binary, `lightsout apply --at T`, against the emulator at every scheduled change
of the past DAYS days (default 7), from the oldest: each run plans for instant T, acts, and
records what it did in the audit trail at T (as a rehearsal does), and the next change comes
from its own answer. While something is still changing (databases start before the services
that need them) it runs again a few minutes later. So the trail, the digest's savings and the
page's history are those of a week lightsout really ran. The environment variables give the
endpoint, region, keys, schedules and store, as for any lightsout command.
"""

import datetime
import json
import subprocess
import sys

binary = sys.argv[1]
days = int(sys.argv[2]) if len(sys.argv) > 2 else 7
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
step = datetime.timedelta(minutes=3)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def apply(at):
    """One pass at instant `at`: (whether something is still changing, the next change)."""
    out = subprocess.run(
        [binary, "apply", "--at", iso(at), "--output", "json"],
        capture_output=True,
        text=True,
    )
    try:
        reports = json.loads(out.stdout)
    except json.JSONDecodeError:
        sys.exit(f"seed_history: lightsout apply --at {iso(at)} failed:\n{out.stderr}")
    changing = any(i.get("verdict") in ("act", "wait") for r in reports for i in r["items"])
    nexts = [r["next_change"] for r in reports if r.get("next_change")]
    nxt = min(nexts) if nexts else None
    return changing, (datetime.datetime.fromisoformat(nxt.replace("Z", "+00:00")) if nxt else None)


t = now - datetime.timedelta(days=days)
runs = changes = 0
while t is not None and t < now:
    changes += 1
    at = t
    for _ in range(4):
        changing, nxt = apply(at)
        runs += 1
        if not changing:
            break
        at += step
    t = nxt
print(json.dumps({"days": days, "changes": changes, "runs": runs}))
