"""Give an emulated Cost Explorer (moto_server) a plausible daily cost series, for the demo's digest.

Usage: python3 seed_costs.py ENDPOINT [TODAY]

TODAY (YYYY-MM-DD, default: today) lets a test pin the series to its own clock.

moto keeps no costs; it answers GetCostAndUsage from a queue of prepared results
(POST /moto-api/static/ce/cost-and-usage-results). This queues one: every day from the first of
last month to today, by service, cheaper on weekends (when staging sleeps all day).
"""

import datetime
import json
import sys
import urllib.request

endpoint = sys.argv[1]
today = datetime.date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else datetime.date.today()
start = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
services = {
    "Amazon Elastic Container Service": 6.10,
    "Amazon Relational Database Service": 7.40,
    "Amazon Virtual Private Cloud": 1.20,
    "EC2 - Other": 2.05,
    "Amazon ElastiCache": 3.12,
}
days = []
d = start
while d < today:
    weekend = d.weekday() >= 5
    groups = [
        {
            "Keys": [name],
            "Metrics": {"UnblendedCost": {"Amount": f"{cost * (0.35 if weekend else 1.0) * (1 + (d.day % 5) / 50):.6f}", "Unit": "USD"}},
        }
        for name, cost in services.items()
    ]
    days.append(
        {
            "TimePeriod": {"Start": d.isoformat(), "End": (d + datetime.timedelta(days=1)).isoformat()},
            "Total": {},
            "Groups": groups,
            "Estimated": d >= today - datetime.timedelta(days=2),
        }
    )
    d += datetime.timedelta(days=1)
body = json.dumps({"results": [{"ResultsByTime": days, "DimensionValueAttributes": []}]}).encode()
req = urllib.request.Request(
    f"{endpoint}/moto-api/static/ce/cost-and-usage-results",
    data=body,
    headers={"Content-Type": "application/json"},
    method="POST",
)
urllib.request.urlopen(req).read()
print(json.dumps({"cost_days": len(days), "from": start.isoformat()}))
