//! The digest prices what ECS really runs, against moto: a service's capacity provider strategy
//! (FARGATE and FARGATE_SPOT, which the test-support wrapper makes moto keep) and its task
//! definition's CPU architecture and operating system, read through the real SDK clients. The
//! Price List is not served here (moto has none): the shipped table is used, and said.

use crate::support;

use serde_json::Value;

/// A Graviton service with 5 tasks on FARGATE base 1 weight 1 and FARGATE_SPOT weight 3 runs 2
/// on demand and 3 on Spot, and is priced so, to the nano-dollar; a Windows service in
/// eu-west-1, where lightsout ships no Windows price, is unpriced with the reason; the method
/// line says the Price List could not be asked and the shipped table was used.
#[test]
fn savings_follow_the_capacity_provider_strategy_and_the_platform() {
    let moto = support::Moto::start();
    moto.seed();
    moto.python(
        r#"
ec2 = boto3.client('ec2', **kw)
vpc = ec2.describe_vpcs(Filters=[{'Name': 'isDefault', 'Values': ['true']}])['Vpcs'][0]['VpcId']
subnet = ec2.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}])['Subnets'][0]['SubnetId']
sg = ec2.describe_security_groups(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}])['SecurityGroups'][0]['GroupId']
network = {'awsvpcConfiguration': {'subnets': [subnet], 'securityGroups': [sg]}}
staging = [{'key': 'Environment', 'value': 'staging'}]
def family(name, arch, os):
    ecs.register_task_definition(family=name, networkMode='awsvpc', requiresCompatibilities=['FARGATE'],
        cpu='1024', memory='2048', runtimePlatform={'cpuArchitecture': arch, 'operatingSystemFamily': os},
        containerDefinitions=[{'name': 'app', 'image': 'nginx', 'essential': True}])
family('workers', 'ARM64', 'LINUX')
family('reports', 'X86_64', 'WINDOWS_SERVER_2022_CORE')
ecs.create_service(cluster='app-staging-cluster', serviceName='workers', taskDefinition='workers',
    desiredCount=5, networkConfiguration=network, tags=staging,
    capacityProviderStrategy=[{'capacityProvider': 'FARGATE', 'base': 1, 'weight': 1},
                              {'capacityProvider': 'FARGATE_SPOT', 'weight': 3}])
ecs.create_service(cluster='app-staging-cluster', serviceName='reports', taskDefinition='reports',
    desiredCount=1, launchType='FARGATE', networkConfiguration=network, tags=staging)
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("staging.toml"),
        lightsout::digest::fixtures::STAGING_TOML.replace(
            "\"app-staging-cluster/frontend\"]",
            "\"app-staging-cluster/frontend\", \"app-staging-cluster/workers\", \"app-staging-cluster/reports\"]",
        ) + "[guard]\nrequire_tags = [\"Environment=staging\"]\n\n[digest]\nchannels = [\"stdout\"]\n",
    )
    .unwrap();
    let out = support::lightsout(&moto, dir.path())
        .args(["digest", "--dry-run", "--output", "json", "--store"])
        .arg(dir.path().join("state.db"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let savings = &v[0]["savings"];
    let resource = |name: &str| -> Value {
        savings["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"].as_str().unwrap_or("").ends_with(name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {savings}"))
    };
    let workers = resource("/workers");
    let rate = &workers["rate"];
    assert_eq!(rate["arch"], "arm", "{workers}");
    assert_eq!(rate["os"], "LINUX");
    assert_eq!(
        (
            rate["tasks_on_demand"].as_u64(),
            rate["tasks_spot"].as_u64()
        ),
        (Some(2), Some(3))
    );
    // eu-west-1 ARM, 1 vCPU + 2 GB: on demand 0.03238 + 2 × 0.00356 = $0.0395, Spot 0.00979124
    // + 2 × 0.00107649 = $0.01194422; 2 × 0.0395 + 3 × 0.01194422 = $0.11483266 an hour
    // (all on demand: $0.1975).
    assert_eq!(workers["hourly"], "0.11483266", "{workers}");
    assert_eq!(rate["spot"]["task_hour"], "0.01194422");
    assert_eq!(rate["on_demand"]["vcpu_hour"]["source"]["from"], "shipped");
    let unpriced = savings["unpriced"].to_string();
    assert!(
        unpriced.contains("/reports")
            && unpriced.contains("no Fargate Windows price for region eu-west-1"),
        "{unpriced}"
    );
    let method = savings["method"].as_str().unwrap();
    assert!(
        method.contains("lightsout's shipped table")
            && method.contains("the AWS Price List could not be asked"),
        "{method}"
    );
}
