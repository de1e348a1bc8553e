#!/usr/bin/env bash
# The quick start's first command: an emulated AWS staging environment and lightsout serving it.
#
#   deploy/local/demo.sh        # page on http://127.0.0.1:8080/ (LIGHTSOUT_DEMO_LISTEN), moto on :5000
#
# It installs moto[server] if needed, starts moto_server on loopback, seeds the reference staging
# environment (and a production service and database that must stay untouched), and runs
# `lightsout serve` with a fresh demo token. The demo environment is awake only when woken, so
# whatever the hour you see it go to sleep, then wake it from the page or with curl.
# Ctrl-C stops lightsout and moto.
set -euo pipefail
cd "$(dirname "$0")/../.."
moto_port=${LIGHTSOUT_DEMO_MOTO_PORT:-5000}
listen=${LIGHTSOUT_DEMO_LISTEN:-127.0.0.1:8080}

if ! python3 -c "import moto.server, flask, boto3" 2>/dev/null; then
  echo "installing moto[server] from PyPI ..."
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
fi
cargo build --quiet

python3 tests/support/moto_strict.py "$moto_port" >/tmp/lightsout-demo-moto.log 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
python3 tests/support/seed.py "http://127.0.0.1:$moto_port" eu-west-1 >/dev/null
python3 tests/support/seed_costs.py "http://127.0.0.1:$moto_port" >/dev/null

export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export LIGHTSOUT_TOKENS="demo $token"
schedules=tests/support/demo-schedules
rm -f /tmp/lightsout-demo.db*

target/debug/lightsout check "$schedules"
cat <<MSG

  Status page:  http://$listen/   (token: $token)
  Wake by curl: curl -X POST -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' \\
                  -d '{"for": "1h", "reason": "trying lightsout"}' http://$listen/v1/environments/staging/wake
  Status:       curl -H 'Authorization: Bearer $token' http://$listen/v1/environments/staging
  From the CLI: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL target/debug/lightsout -s $schedules status
  The digest:   AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \\
                  target/debug/lightsout -s $schedules digest --dry-run --store /tmp/lightsout-demo.db

MSG
target/debug/lightsout -s "$schedules" serve --listen "$listen" --store /tmp/lightsout-demo.db --settle 3s
