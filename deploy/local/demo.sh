#!/usr/bin/env bash
# The quick start's first command: an emulated AWS staging environment (moto_server on loopback,
# seeded with the reference environment) and one night and one morning of lightsout against it.
#
#   deploy/local/demo.sh            # uses port 5000, or LIGHTSOUT_DEMO_PORT
#
# It leaves nothing running: moto is stopped when the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${LIGHTSOUT_DEMO_PORT:-5000}

if ! python3 -c "import moto.server, flask, boto3" 2>/dev/null; then
  echo "installing moto[server] from PyPI ..."
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
fi
cargo build --quiet

python3 tests/support/moto_strict.py "$port" >/tmp/lightsout-demo-moto.log 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
python3 tests/support/seed.py "http://127.0.0.1:$port" eu-west-1 >/dev/null

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo LIGHTSOUT_LOG=warn
# The demo schedule selects every Team=app resource, production included, to show the guard.
schedules=tests/support/demo-schedules
lo=target/debug/lightsout

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || true; }
step $lo check $schedules
step $lo -s $schedules status --at 2026-12-02T21:59:00Z
step $lo -s $schedules plan --at 2026-12-02T22:00:00Z
step $lo -s $schedules apply --at 2026-12-02T22:00:00Z
step $lo -s $schedules apply --at 2026-12-02T22:05:00Z
step $lo -s $schedules apply --at 2026-12-03T06:00:00Z
step $lo -s $schedules apply --at 2026-12-03T06:05:00Z
step $lo -s $schedules status --at 2026-12-03T06:10:00Z
