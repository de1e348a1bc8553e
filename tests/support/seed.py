"""Seed an emulated AWS (moto_server) with the reference staging environment.

Usage: python3 seed.py ENDPOINT [REGION [ROLE_ARN]]

With ROLE_ARN, the environment is seeded in that role's account (moto keeps a separate state for
each account whose role is assumed), as a second account for cross-account tests.

What it creates, in one account and region (README, Testing: "The reference environment"):
- ECS cluster app-staging-cluster: backend (desired 2, autoscaling min 1 / max 4) and
  frontend (desired 1), tagged Environment=staging, Team=app;
- ECS cluster app-production-cluster: api (desired 3), tagged Environment=production, Team=app;
- RDS PostgreSQL instance app-staging-db;
- Aurora PostgreSQL cluster app-staging-aurora with members app-staging-aurora-1 and -2;
- RDS instance app-staging-analytics with its read replica app-staging-analytics-replica;
- RDS instance app-production-db, tagged Environment=production;
- launch template app-staging-lt (t3.medium) and Auto Scaling group app-staging-capacity
  (min 1 / max 4 / desired 2, new instances protected from scale-in, its tags propagated to its
  instances), registered as the ECS capacity provider app-staging-capacity of
  app-staging-cluster (managed termination protection on, as ECS requires scale-in protection
  for it; no default strategy: the services stay on Fargate);
- EC2 instance app-staging-bastion (t3.micro, its Name tag).
Every database, group and instance is tagged Team=app, so a tag selector on Team=app also finds
production (and the group's two instances, which lightsout leaves to their group).
"""

import json
import sys

import boto3

endpoint = sys.argv[1]
region = sys.argv[2] if len(sys.argv) > 2 else "eu-west-1"
kw = dict(
    endpoint_url=endpoint,
    region_name=region,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
if len(sys.argv) > 3:
    creds = boto3.client("sts", **kw).assume_role(RoleArn=sys.argv[3], RoleSessionName="seed")["Credentials"]
    kw.update(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
ec2 = boto3.client("ec2", **kw)
ecs = boto3.client("ecs", **kw)
aas = boto3.client("application-autoscaling", **kw)
rds = boto3.client("rds", **kw)
autoscaling = boto3.client("autoscaling", **kw)


def tags(env, style="ecs"):
    pairs = [("Environment", env), ("Team", "app")]
    if style == "ecs":
        return [{"key": k, "value": v} for k, v in pairs]
    return [{"Key": k, "Value": v} for k, v in pairs]


vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0]["GroupId"]
network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}}

ecs.register_task_definition(
    family="app",
    networkMode="awsvpc",
    requiresCompatibilities=["FARGATE"],
    cpu="256",
    memory="512",
    containerDefinitions=[{"name": "app", "image": "nginx", "essential": True}],
)


def service(cluster, name, desired, env):
    ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition="app",
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration=network,
        tags=tags(env),
    )


ecs.create_cluster(clusterName="app-staging-cluster")
ecs.create_cluster(clusterName="app-production-cluster")
service("app-staging-cluster", "backend", 2, "staging")
service("app-staging-cluster", "frontend", 1, "staging")
service("app-production-cluster", "api", 3, "production")
aas.register_scalable_target(
    ServiceNamespace="ecs",
    ResourceId="service/app-staging-cluster/backend",
    ScalableDimension="ecs:service:DesiredCount",
    MinCapacity=1,
    MaxCapacity=4,
)


def instance(ident, env, **extra):
    args = dict(
        DBInstanceIdentifier=ident,
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        MasterUsername="app",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        Tags=tags(env, "rds"),
    )
    args.update(extra)
    rds.create_db_instance(**args)


instance("app-staging-db", "staging")
instance("app-staging-analytics", "staging")
rds.create_db_instance_read_replica(
    DBInstanceIdentifier="app-staging-analytics-replica",
    SourceDBInstanceIdentifier="app-staging-analytics",
    DBInstanceClass="db.t4g.medium",
    Tags=tags("staging", "rds"),
)
instance("app-production-db", "production")
rds.create_db_cluster(
    DBClusterIdentifier="app-staging-aurora",
    Engine="aurora-postgresql",
    MasterUsername="app",
    MasterUserPassword="not-a-secret-1",
    Tags=tags("staging", "rds"),
)
for n in (1, 2):
    rds.create_db_instance(
        DBInstanceIdentifier=f"app-staging-aurora-{n}",
        DBClusterIdentifier="app-staging-aurora",
        DBInstanceClass="db.t4g.medium",
        Engine="aurora-postgresql",
        Tags=tags("staging", "rds"),
    )
ec2.create_launch_template(
    LaunchTemplateName="app-staging-lt",
    LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.medium"},
)
autoscaling.create_auto_scaling_group(
    AutoScalingGroupName="app-staging-capacity",
    MinSize=1,
    MaxSize=4,
    DesiredCapacity=2,
    LaunchTemplate={"LaunchTemplateName": "app-staging-lt", "Version": "$Latest"},
    AvailabilityZones=[region + "a"],
    NewInstancesProtectedFromScaleIn=True,
    Tags=[dict(t, PropagateAtLaunch=True) for t in tags("staging", "asg")],
)
group_arn = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["app-staging-capacity"])[
    "AutoScalingGroups"
][0]["AutoScalingGroupARN"]
ecs.create_capacity_provider(
    name="app-staging-capacity",
    autoScalingGroupProvider={
        "autoScalingGroupArn": group_arn,
        "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
        "managedTerminationProtection": "ENABLED",
    },
    tags=tags("staging"),
)
ecs.put_cluster_capacity_providers(
    cluster="app-staging-cluster",
    capacityProviders=["app-staging-capacity"],
    defaultCapacityProviderStrategy=[],
)
ec2.run_instances(
    ImageId="ami-12c6146b",
    InstanceType="t3.micro",
    MinCount=1,
    MaxCount=1,
    TagSpecifications=[
        {
            "ResourceType": "instance",
            "Tags": tags("staging", "ec2") + [{"Key": "Name", "Value": "app-staging-bastion"}],
        }
    ],
)
print(json.dumps({"seeded": endpoint, "region": region}))
