#!/usr/bin/env bash
# The quick start's first command: an emulated AWS staging environment and lightsout serving it.
#
#   deploy/local/demo.sh        # page on http://127.0.0.1:8080/ (LIGHTSOUT_DEMO_LISTEN), moto on :5000
#                               # (LIGHTSOUT_DEMO_MOTO_PORT)
#
# It makes the project's Python venv with moto[server] if needed (.ci/python-env: target/venv,
# never the system Python), builds lightsout (cargo's progress shown), starts moto_server on
# loopback, seeds the reference staging environment (and a production service and database that
# must stay untouched) and a month of Cost Explorer figures, replays the past week of its office
# hours with the real binary (`lightsout apply --at` at each scheduled change: seed_history.py),
# makes the morning's digest (so the page shows spend and savings), and runs `lightsout serve`
# with a fresh demo token. Started inside office hours, it first puts staging to sleep until the
# next window (`lightsout sleep`), so the page starts asleep whatever the hour; wake it from the
# page or with curl. When the page answers it prints how to use it and how long the demo took to
# get there. Ctrl-C stops lightsout and moto.
#
#   LIGHTSOUT_DEMO_STORE    the demo's SQLite store (default /tmp/lightsout-demo.db, made afresh)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
started=$(date +%s)
moto_port=${LIGHTSOUT_DEMO_MOTO_PORT:-5000}
listen=${LIGHTSOUT_DEMO_LISTEN:-127.0.0.1:8080}
db=${LIGHTSOUT_DEMO_STORE:-/tmp/lightsout-demo.db}
digest=${db%.db}-digest.md

.ci/python-env moto
py=$repo/target/venv/bin/python3

echo "demo: building lightsout (cargo build; the first build takes minutes) ..."
build_start=$(date +%s)
cargo build --locked --bin lightsout
build_took=$(($(date +%s) - build_start))
bin=${CARGO_TARGET_DIR:-$repo/target}/debug/lightsout

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
"$py" tests/support/moto_strict.py "$moto_port" >/tmp/lightsout-demo-moto.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$moto_port/moto-api/" >/dev/null ||
  { echo "demo: moto_server did not start on port $moto_port (log: /tmp/lightsout-demo-moto.log)" >&2; exit 1; }
"$py" tests/support/seed.py "http://127.0.0.1:$moto_port" eu-west-1 >/dev/null
"$py" tests/support/seed_costs.py "http://127.0.0.1:$moto_port" >/dev/null

# Everything the commands below need, for this shell and, printed below, for any other.
schedules=$repo/tests/support/demo-schedules
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export LIGHTSOUT_SCHEDULES=$schedules LIGHTSOUT_STORE=$db
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export LIGHTSOUT_TOKENS="demo $token"
rm -f "$db"*

"$bin" check "$schedules"
# A week of history, made by the binary itself, and the digest it adds up to. Quiet: the
# commands' own lines are for when you run them.
seeding=$(date +%s)
echo "demo: replaying the past week (lightsout apply --at each scheduled change) ..."
LIGHTSOUT_LOG=warn USER=demo "$py" deploy/local/seed_history.py "$bin" 7 >/dev/null
LIGHTSOUT_LOG=warn "$bin" digest --env staging >"$digest"
awake_now=$("$bin" plan --env staging --output json 2>/dev/null |
  "$py" -c 'import json, sys; print(json.load(sys.stdin)[0]["awake"])' || echo False)
if [ "$awake_now" = True ]; then
  LIGHTSOUT_LOG=warn USER=demo "$bin" sleep staging --reason "demo: starts asleep, so you can wake it" >/dev/null
fi
seeding_took=$(($(date +%s) - seeding))
"$bin" serve --listen "$listen" --settle 3s &
pids+=($!)
for _ in $(seq 1 300); do
  curl -fs "http://$listen/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "demo: lightsout serve exited" >&2; exit 1; }
  sleep 0.1
done

cat <<MSG

  Status page:  http://$listen/   (token: $token)
  Wake by curl: curl -X POST -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' \\
                  -d '{"for": "1h", "reason": "trying lightsout"}' http://$listen/v1/environments/staging/wake
  Status:       curl -H 'Authorization: Bearer $token' http://$listen/v1/environments/staging

  From the CLI, in any shell (same emulator, schedules and store as the page):
    export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=$AWS_REGION AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \\
      LIGHTSOUT_SCHEDULES=$schedules LIGHTSOUT_STORE=$db
    $bin status
    $bin plan
    $bin digest --dry-run

  The week's digest (what the page's spend and savings come from): $digest

  The page answered $(($(date +%s) - started)) s after the demo started (the build took $build_took s,
  replaying the week and the digest $seeding_took s). Ctrl-C stops it.

MSG
wait "${pids[1]}"
