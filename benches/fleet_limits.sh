#!/usr/bin/env bash
# A fleet at AWS's API rate limits: a sleep, a repeated sleep and a wake (databases, then
# services) of LIGHTSOUT_FLEET=services/clusters/databases (default 500/10/40) through the test
# proxy's rate model in front of moto (token buckets per account, region and action category at
# AWS's published figures; see benches/README.md), lightsout pacing itself. Prints per pass the
# wall time against the floor the buckets allow, the throttling answers drawn, requests, new
# connections, failed resources; the run fails if a resource is left half done.
#
#   benches/fleet_limits.sh                      # 500 services / 10 clusters / 40 databases
#   LIGHTSOUT_FLEET=5000/50/200 benches/fleet_limits.sh
#   LIGHTSOUT_BACKGROUND=0.3 benches/fleet_limits.sh   # another tool spends 30% of every refill
#   LIGHTSOUT_PACE=off benches/fleet_limits.sh         # lightsout unpaced, for comparison
#   LIGHTSOUT_LATENCY_MS=30 benches/fleet_limits.sh    # every answer 30 ms later (connections in flight)
#   LIGHTSOUT_SPREAD=3x2 benches/fleet_limits.sh       # the fleet split over 3 accounts x 2 regions, one
#                                                      # environment each, passes as the daemon makes them
#
# Needs moto from the project's venv (.ci/python-env) or LIGHTSOUT_PYTHON. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test ${CARGO_PROFILE:+--profile "$CARGO_PROFILE"} --test suite limits_moto::fleet_at_the_limit_bench \
  -- --ignored --nocapture
