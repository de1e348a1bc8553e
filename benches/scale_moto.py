#!/usr/bin/env python3
"""Scale scenario against moto: 1,000 ECS services over 10 clusters and 100 RDS instances, in
2 regions and 3 accounts (two reached through STS AssumeRole), as 6 environments. Runs a sleep
pass, a no-op pass and the two wake passes with the release binary, and prints for each: wall
time, AWS requests by operation against the computed minimum, and peak memory.

moto serves about 150-190 requests a second here and serialises everything, so the request
counts are the primary figure and the wall time is beside it.

Usage: benches/scale_moto.py   (after `cargo build --release`)
"""

import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "lightsout")
PORT = 5098
ENDPOINT = f"http://127.0.0.1:{PORT}"
SCOPES = [  # (role or None, region)
    (None, "eu-west-1"), (None, "us-east-1"),
    ("arn:aws:iam::111111111111:role/lightsout", "eu-west-1"), ("arn:aws:iam::111111111111:role/lightsout", "us-east-1"),
    ("arn:aws:iam::222222222222:role/lightsout", "eu-west-1"), ("arn:aws:iam::222222222222:role/lightsout", "us-east-1"),
]
SERVICES, CLUSTERS, DATABASES = 1000, 10, 100


def clients(role, region):
    kw = dict(endpoint_url=ENDPOINT, region_name=region, aws_access_key_id="t", aws_secret_access_key="t")
    if role:
        c = boto3.client("sts", **kw).assume_role(RoleArn=role, RoleSessionName="seed")["Credentials"]
        kw.update(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    return [boto3.client(s, **kw) for s in ("ec2", "ecs", "application-autoscaling", "rds")]


def seed(work):
    """Spreads clusters, services and databases over the scopes; writes one schedule per scope."""
    plan = {i: {"clusters": [], "services": 0, "scalable": 0, "dbs": 0} for i in range(len(SCOPES))}
    for c in range(CLUSTERS):
        plan[c % len(SCOPES)]["clusters"].append(f"c{c}")
    for i, (role, region) in enumerate(SCOPES):
        ec2, ecs, aas, rds = clients(role, region)
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
        sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0]["GroupId"]
        ecs.register_task_definition(family="app", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                                     memory="512", containerDefinitions=[{"name": "app", "image": "nginx"}])
        for cluster in plan[i]["clusters"]:
            ecs.create_cluster(clusterName=cluster)
            for s in range(SERVICES // CLUSTERS):
                ecs.create_service(cluster=cluster, serviceName=f"s{s}", taskDefinition="app", desiredCount=2,
                                   launchType="FARGATE", tags=[{"key": "Env", "value": "preview"}],
                                   networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}})
                plan[i]["services"] += 1
                if s % 2 == 0:
                    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/{cluster}/s{s}",
                                                 ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=4)
                    plan[i]["scalable"] += 1
        for d in range(i, DATABASES, len(SCOPES)):
            rds.create_db_instance(DBInstanceIdentifier=f"db{d}", DBInstanceClass="db.t4g.micro", Engine="postgres",
                                   MasterUsername="u", MasterUserPassword="password-123", AllocatedStorage=20,
                                   Tags=[{"Key": "Env", "Value": "preview"}])
            plan[i]["dbs"] += 1
        role_line = f'role_arn = "{role}"\n' if role else ""
        clusters = ", ".join(f'"{c}"' for c in plan[i]["clusters"])
        ecs_part = f'[[ecs.select]]\nclusters = [{clusters}]\ntags = {{ Env = "preview" }}\n' if plan[i]["clusters"] else ""
        with open(os.path.join(work, f"scope{i}.toml"), "w") as f:
            f.write(f'region = "{region}"\n{role_line}timezone = "UTC"\nawake = ["Mon-Fri 07:00-20:00"]\n'
                    f'concurrency = 16\n{ecs_part}[[rds.select]]\ntags = {{ Env = "preview" }}\n')
    return plan


def minimum(plan, phase):
    """The fewest requests the work needs (AWS page and batch limits)."""
    reads = 0
    writes = 0
    for p in plan.values():
        n, k = p["services"], len(p["clusters"])
        per = SERVICES // CLUSTERS
        reads += k * math.ceil(per / 100) + k * math.ceil(per / 10) + (math.ceil(n / 50) if n else 0)
        reads += 1 + 1  # DescribeDBInstances and DescribeDBClusters (one page each at <= 100)
        if phase == "sleep":
            writes += n * 2 + p["scalable"] + p["dbs"] * 2  # tag + count (+ bounds); tag + stop
        elif phase == "wake1":
            writes += p["dbs"] * 2  # start + untag
        elif phase == "wake2":
            writes += n * 2 + p["scalable"]  # (bounds +) count + untag
    return reads, writes


def run(work, at):
    env = dict(os.environ, AWS_ENDPOINT_URL=ENDPOINT, AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t",
               AWS_REGION="eu-west-1", LIGHTSOUT_LOG="error")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    out = subprocess.run([BIN, "-s", work, "apply", "--at", at], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    line = next(l for l in out.stdout.splitlines() if l.startswith("AWS requests:"))
    counts = {op: int(n) for op, n in re.findall(r"(\w+) (\d+)", line.split("(", 1)[1])}
    return wall, counts, max(peak, before), out.returncode


def main():
    work = tempfile.mkdtemp()
    moto = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/support/moto_strict.py"), str(PORT)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{ENDPOINT}/moto-api/")
                break
            except OSError:
                time.sleep(0.1)
        t = time.perf_counter()
        plan = seed(work)
        print(f"seeded {sum(p['services'] for p in plan.values())} services, {sum(p['dbs'] for p in plan.values())} "
              f"databases in {len(SCOPES)} scopes (3 accounts x 2 regions) in {time.perf_counter() - t:.0f} s")
        for phase, at in [("sleep", "2026-12-02T22:00:00Z"), ("no-op", "2026-12-02T22:05:00Z"),
                          ("wake1", "2026-12-03T07:05:00Z"), ("wake2", "2026-12-03T07:06:00Z")]:
            wall, counts, peak, rc = run(work, at)
            reads = sum(n for op, n in counts.items() if op.startswith(("Describe", "List")))
            writes = sum(counts.values()) - reads
            min_reads, min_writes = minimum(plan, phase if phase != "no-op" else "none")
            total, least = reads + writes, min_reads + min_writes
            print(f"{phase:6} pass: {wall:6.1f} s, {total} requests (reads {reads}, writes {writes}) vs minimum {least} "
                  f"(reads {min_reads}, writes {min_writes}): {100 * (total - least) / least:+.1f}%, peak RSS {peak / 1024:.1f} MB, exit {rc}")
            print(f"        {counts}")
    finally:
        moto.kill()


main()
