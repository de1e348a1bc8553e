#!/usr/bin/env bash
# Measures `lightsout serve` (release build) on loopback against moto: idle RSS and CPU with
# 10 environments, and the latency of the wake endpoint and of GET /v1/environments under load
# with wrk (Debian package `wrk`). Prints the figures; changes nothing outside /tmp.
#
#   benches/serve_load.sh            # DURATION=15 CONNECTIONS=16 to change the load
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-15}
connections=${CONNECTIONS:-16}
moto_port=5077
listen=127.0.0.1:8077
work=$(mktemp -d)
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet

python3 tests/support/moto_strict.py $moto_port >"$work/moto.log" 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
python3 tests/support/seed.py "http://127.0.0.1:$moto_port" eu-west-1 >/dev/null

# Ten environments: the demo staging and nine that select by a tag nothing carries.
mkdir "$work/schedules"
cp tests/support/demo-schedules/staging.toml "$work/schedules/"
for i in $(seq 1 9); do
  cat >"$work/schedules/preview$i.toml" <<TOML
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]
[[ecs.select]]
clusters = ["app-staging-cluster"]
tags = { Preview = "p$i" }
[[rds.select]]
tags = { Preview = "p$i" }
TOML
done

token=bench-token-0123456789abcdef
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID=b AWS_SECRET_ACCESS_KEY=b
export LIGHTSOUT_TOKENS="bench $token" LIGHTSOUT_LOG=warn
target/release/lightsout -s "$work/schedules" serve --listen $listen --store "$work/state.db" \
  --rate-burst 1000000 --rate-per-minute 100000000 >"$work/serve.log" 2>&1 &
serve=$!
pids+=($serve)
for _ in $(seq 1 100); do curl -fs "http://$listen/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
# Let the first passes finish, then watch it idle.
until curl -fs "http://$listen/metrics" | grep -q '^lightsout_reconcile_passes_total [1-9]'; do sleep 0.2; done
sleep 20  # past the settle passes that follow the first sleep
ticks() { awk '{print $14 + $15}' "/proc/$serve/stat"; }
t0=$(ticks); sleep 20; t1=$(ticks)
hz=$(getconf CLK_TCK)
echo "idle, 10 environments: RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$serve/status), peak $(awk '/VmHWM/ {print $2, $3}' /proc/$serve/status), CPU over 20 s idle: $(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.2f s (%.2f%%)", d / hz, 100 * d / hz / 20 }')"

cat >"$work/wake.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"for": "1h", "reason": "load"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
cat >"$work/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
echo
echo "POST /v1/environments/staging/wake, $connections connections, ${duration}s:"
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work/wake.lua" "http://$listen/v1/environments/staging/wake" | sed -n '/Latency Distribution/,/Transfer/p'
echo
echo "GET /v1/environments, $connections connections, ${duration}s:"
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work/get.lua" "http://$listen/v1/environments" | sed -n '/Latency Distribution/,/Transfer/p'
echo
echo "after load: RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$serve/status)"
curl -fs "http://$listen/metrics" | grep -E '^lightsout_(reconcile|api_errors|store)'
