//! AWS's Price List (`pricing:GetProducts`) through the real `aws-sdk-pricing` client, against a
//! local fake: moto does not serve the Price List. The fake is a loopback HTTP server speaking
//! awsJson1_1 (`X-Amz-Target: AWSPriceListService.GetProducts`) that filters a small catalogue
//! of PriceList documents by the request's filters and answers a page at a time with a
//! `NextToken`, recording every request (its target, the region it was signed for, its body).

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightsout::aws::AwsCloud;
use lightsout::config::parse_str;
use lightsout::model::Environment;
use lightsout::ports::{Platform, PriceItem};
use serde_json::{Value, json};

/// What the fake answers.
#[derive(Clone, Copy)]
enum Mode {
    /// The catalogue, `page` products a page.
    Catalogue { page: usize },
    /// HTTP 500 to everything.
    Down,
    /// AccessDeniedException to everything (the role lacks `pricing:GetProducts`).
    Denied,
}

/// One request the fake received.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    /// The region of the SigV4 credential scope.
    signed_for: String,
    body: Value,
}

struct Fake {
    endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A PriceList document as AWS writes it (aws_v1): the product's attributes and one on-demand
/// price per unit.
fn product(service: &str, attributes: Value, usd: &str) -> Value {
    let sku = format!("SKU{}", usd.replace('.', ""));
    json!({
        "product": {"productFamily": "Compute", "attributes": attributes, "sku": sku},
        "serviceCode": service,
        "terms": {"OnDemand": {format!("{sku}.JRTCKXETXF"): {
            "offerTermCode": "JRTCKXETXF",
            "priceDimensions": {format!("{sku}.JRTCKXETXF.6YS6EN2CT7"): {
                "unit": "Hrs", "beginRange": "0", "endRange": "Inf",
                "description": "fake", "pricePerUnit": {"USD": usd}
            }}
        }}},
        "version": "20261201000000",
        "publicationDate": "2026-12-01T00:00:00Z"
    })
}

/// The fake's catalogue: Fargate in eu-west-1 (with the Spot, ARM and Windows products beside
/// the on-demand x86 ones, which the filters alone do not tell apart) and two RDS classes.
/// The prices differ from the shipped table's, so the test sees which one was used.
fn catalogue() -> Vec<Value> {
    let ecs = |usage: &str, usd: &str| {
        product(
            "AmazonECS",
            json!({"usagetype": usage, "regionCode": "eu-west-1", "servicecode": "AmazonECS"}),
            usd,
        )
    };
    let rds = |class: &str, engine: &str, deployment: &str, usage: &str, usd: &str| {
        product(
            "AmazonRDS",
            json!({"usagetype": usage, "regionCode": "eu-west-1", "instanceType": class,
                   "databaseEngine": engine, "deploymentOption": deployment}),
            usd,
        )
    };
    vec![
        ecs("EU-SpotUsage-Fargate-vCPU-Hours:perCPU", "0.0122405600"),
        ecs("EU-Fargate-vCPU-Hours:perCPU", "0.0411100000"),
        ecs("EU-Fargate-ARM-vCPU-Hours:perCPU", "0.0323800000"),
        ecs("EU-Fargate-GB-Hours", "0.0045100000"),
        ecs("EU-SpotUsage-Fargate-GB-Hours", "0.0013441000"),
        ecs("EU-Fargate-EphemeralStorage-GB-Hours", "0.0001110000"),
        rds(
            "db.t4g.micro",
            "PostgreSQL",
            "Single-AZ",
            "EU-InstanceUsage:db.t4g.micro",
            "0.0190000000",
        ),
        rds(
            "db.t4g.micro",
            "PostgreSQL",
            "Multi-AZ",
            "EU-Multi-AZUsage:db.t4g.micro",
            "0.0380000000",
        ),
        rds(
            "db.t4g.medium",
            "Aurora PostgreSQL",
            "Single-AZ",
            "EU-InstanceUsage:db.t4g.medium",
            "0.0830000000",
        ),
    ]
}

/// Whether `doc` passes GetProducts' filters (TERM_MATCH / EQUALS: the attribute equals the
/// value; CONTAINS: holds it).
fn passes(doc: &Value, service: &str, filters: &[Value]) -> bool {
    doc["serviceCode"] == service
        && filters.iter().all(|f| {
            let field = f["Field"].as_str().unwrap_or("");
            let want = f["Value"].as_str().unwrap_or("");
            let have = doc["product"]["attributes"][field].as_str().unwrap_or("");
            match f["Type"].as_str() {
                Some("CONTAINS") => have.contains(want),
                _ => have == want,
            }
        })
}

fn start(mode: Mode) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let products = catalogue();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut len, mut target, mut auth) = (0usize, String::new(), String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let Some((name, value)) = line.split_once(':') else {
                    continue;
                };
                let value = value.trim().to_string();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => len = value.parse().unwrap_or(0),
                    "x-amz-target" => target = value,
                    "authorization" => auth = value,
                    _ => {}
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            // `Credential=KEY/DATE/REGION/pricing/aws4_request`.
            let signed_for = auth
                .split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').nth(2))
                .unwrap_or("")
                .to_string();
            kept.lock().unwrap().push(Seen {
                target: target.clone(),
                signed_for,
                body: body.clone(),
            });
            let (status, answer) = match mode {
                Mode::Down => (
                    500,
                    json!({"__type": "InternalErrorException", "Message": "down"}),
                ),
                Mode::Denied => (
                    400,
                    json!({"__type": "AccessDeniedException", "Message": "not allowed: pricing:GetProducts"}),
                ),
                Mode::Catalogue { page } => {
                    let service = body["ServiceCode"].as_str().unwrap_or("");
                    let filters = body["Filters"].as_array().cloned().unwrap_or_default();
                    let matching: Vec<&Value> = products
                        .iter()
                        .filter(|p| passes(p, service, &filters))
                        .collect();
                    let from: usize = body["NextToken"]
                        .as_str()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    let to = (from + page).min(matching.len());
                    let mut answer = json!({
                        "FormatVersion": "aws_v1",
                        "PriceList": matching[from.min(to)..to]
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>(),
                    });
                    if to < matching.len() {
                        answer["NextToken"] = to.to_string().into();
                    }
                    (200, answer)
                }
            };
            let text = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    Fake { endpoint, seen }
}

fn env(region: &str) -> Environment {
    let mut env = parse_str(
        Path::new("staging.toml"),
        lightsout::digest::fixtures::STAGING_TOML,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    env.region = region.to_string();
    env
}

async fn pricing(fake: &Fake) -> Arc<dyn lightsout::ports::Pricing> {
    let config = support::sdk_config_timeouts(
        &fake.endpoint,
        2,
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
    .await;
    Arc::new(AwsCloud::new(config)).ports(None).pricing
}

fn fargate(spot: bool, vcpu: bool) -> PriceItem {
    let (region, platform) = ("eu-west-1".to_string(), Platform::LinuxX86);
    if vcpu {
        PriceItem::FargateVcpu {
            region,
            platform,
            spot,
        }
    } else {
        PriceItem::FargateGb {
            region,
            platform,
            spot,
        }
    }
}

fn db(engine: &str, class: &str, multi_az: bool) -> PriceItem {
    PriceItem::DbInstance {
        region: "eu-west-1".into(),
        engine: engine.into(),
        class: class.into(),
        multi_az,
    }
}

/// Each price is one GetProducts query, its pages followed, and the one product the usage
/// type names picked from those the filters return (never the Spot product beside the on-demand
/// one); Spot is not asked (the Price List does not publish it); a class with no product says
/// so. The request is signed for a Price List region (eu-central-1 for eu-west-1), whatever
/// the environment's region.
#[tokio::test]
async fn prices_are_read_from_get_products_pages() {
    let fake = start(Mode::Catalogue { page: 1 });
    let pricing = pricing(&fake).await;
    let wanted = vec![
        fargate(false, true),
        fargate(false, false),
        fargate(true, true),
        db("postgres", "db.t4g.micro", false),
        db("postgres", "db.t4g.micro", true),
        db("aurora-postgresql", "db.t4g.medium", false),
        db("postgres", "db.x9.none", false),
    ];
    let answer = pricing.price_list(&env("eu-west-1"), &wanted).await;
    assert_eq!(answer.failed, None);
    let got: Vec<(String, Result<String, String>)> = answer
        .prices
        .iter()
        .map(|(i, p)| (i.to_string(), p.clone().map(|m| m.exact())))
        .collect();
    let price = |i: usize| got[i].1.clone();
    assert_eq!(got.len(), wanted.len(), "{got:?}");
    assert_eq!(price(0), Ok("0.04111".into()), "{got:?}");
    assert_eq!(price(1), Ok("0.00451".into()), "{got:?}");
    assert!(
        price(2)
            .unwrap_err()
            .contains("does not publish Fargate Spot"),
        "{got:?}"
    );
    assert_eq!(price(3), Ok("0.019".into()), "{got:?}");
    assert_eq!(price(4), Ok("0.038".into()), "{got:?}");
    assert_eq!(price(5), Ok("0.083".into()), "{got:?}");
    assert!(price(6).unwrap_err().contains("no product"), "{got:?}");

    let seen = fake.seen();
    // vCPU: 2 products match "Fargate-vCPU-Hours:perCPU" (on demand and Spot), one a page;
    // GB: 2 (on demand and Spot); each database class 1, the missing one 0 (one empty page).
    assert_eq!(seen.len(), 2 + 2 + 1 + 1 + 1 + 1, "{seen:#?}");
    for s in &seen {
        assert_eq!(s.target, "AWSPriceListService.GetProducts");
        assert_eq!(s.signed_for, "eu-central-1");
        assert_eq!(s.body["FormatVersion"], "aws_v1");
    }
    assert_eq!(
        seen[1].body["NextToken"], "1",
        "the second page is asked for"
    );
    let filters = &seen[4].body["Filters"];
    for (field, value) in [
        ("regionCode", "eu-west-1"),
        ("instanceType", "db.t4g.micro"),
        ("databaseEngine", "PostgreSQL"),
        ("deploymentOption", "Single-AZ"),
    ] {
        assert!(
            filters
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["Field"] == field && f["Value"] == value && f["Type"] == "TERM_MATCH"),
            "{field}={value} in {filters}"
        );
    }
}

/// The Price List endpoint is in us-east-1, eu-central-1 or ap-south-1 only: a Sydney or an
/// Oregon environment's requests are signed for the nearest of those.
#[tokio::test]
async fn requests_go_to_a_price_list_region() {
    for (region, signed_for) in [
        ("ap-southeast-2", "ap-south-1"),
        ("us-west-2", "us-east-1"),
        ("eu-central-1", "eu-central-1"),
    ] {
        let fake = start(Mode::Catalogue { page: 100 });
        let pricing = pricing(&fake).await;
        let item = PriceItem::FargateGb {
            region: region.into(),
            platform: Platform::LinuxX86,
            spot: false,
        };
        pricing.price_list(&env(region), &[item]).await;
        let seen = fake.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].signed_for, signed_for, "{region}");
    }
}

/// A Price List that cannot be asked (down, or the role without `pricing:GetProducts`) stops
/// the asking at the first item, in one attempt (no retries: the shipped table answers at
/// once), and says why, in one line.
#[tokio::test]
async fn a_price_list_that_cannot_be_asked_says_why() {
    for (mode, want, requests) in [
        (Mode::Down, "GetProducts", 1),
        (Mode::Denied, "AccessDenied", 1),
    ] {
        let fake = start(mode);
        let pricing = pricing(&fake).await;
        let wanted = vec![fargate(false, true), fargate(false, false)];
        let answer = pricing.price_list(&env("eu-west-1"), &wanted).await;
        assert!(answer.prices.is_empty(), "{answer:?}");
        let why = answer.failed.expect("why");
        assert!(why.contains(want), "{why}");
        assert_eq!(fake.seen().len(), requests, "{why}");
    }
}

/// Cost Explorer's answer for `from..to` (exclusive): one service, $10 a day.
fn ce_result(from: chrono::NaiveDate, to: chrono::NaiveDate) -> Value {
    let days: Vec<Value> = from
        .iter_days()
        .take_while(|d| *d < to)
        .map(|d| {
            json!({
                "TimePeriod": {"Start": d.to_string(), "End": d.succ_opt().unwrap().to_string()},
                "Total": {},
                "Groups": [{"Keys": ["Amazon Elastic Container Service"], "Metrics": {"UnblendedCost": {"Amount": "10", "Unit": "USD"}}}],
                "Estimated": false
            })
        })
        .collect();
    json!({"ResultsByTime": days, "DimensionValueAttributes": [], "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]})
}

/// `lightsout digest` end to end: the ECS and RDS of moto, the Price List of the fake
/// (`AWS_ENDPOINT_URL_PRICING`). The savings are priced at the Price List's prices and say so,
/// each with its source in `--output json`; a dry run keeps no answer, a digest keeps them a
/// week in the store, and the next digest asks the Price List nothing.
#[test]
fn the_digest_prices_from_the_price_list_and_keeps_the_answers() {
    use chrono::{Datelike, TimeDelta};
    let moto = support::Moto::start();
    moto.seed();
    let fake = start(Mode::Catalogue { page: 1 });
    let today = lightsout::clock::Clock::now(&lightsout::clock::SystemClock).date_naive();
    let from = (today - TimeDelta::days(41)).with_day0(0).unwrap();
    ureq::post(format!(
        "{}/moto-api/static/ce/cost-and-usage-results",
        moto.endpoint
    ))
    .header("content-type", "application/json")
    .send(json!({ "results": [ce_result(from, today)] }).to_string())
    .expect("inject Cost Explorer results");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("staging.toml"),
        format!(
            "{}\n[guard]\nrequire_tags = [\"Environment=staging\"]\n\n[digest]\nchannels = [\"stdout\"]\n",
            lightsout::digest::fixtures::STAGING_TOML
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = support::lightsout(&moto, dir.path())
            .env("AWS_ENDPOINT_URL_PRICING", &fake.endpoint)
            .arg("digest")
            .args(args)
            .arg("--store")
            .arg(dir.path().join("state.db"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        out.stdout
    };
    let figures = |stdout: Vec<u8>| -> Value {
        let v: Value = serde_json::from_slice(&stdout).unwrap();
        v[0]["savings"].clone()
    };

    let savings = figures(run(&["--dry-run", "--output", "json"]));
    let asked = fake.seen().len();
    assert!(asked > 0, "the Price List was asked: {savings}");
    let fargate: Vec<&Value> = savings["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rate"]["kind"] == "fargate")
        .collect();
    assert!(!fargate.is_empty(), "{savings}");
    for r in &fargate {
        let on_demand = &r["rate"]["on_demand"];
        assert_eq!(on_demand["vcpu_hour"]["usd"], "0.04111", "{r}");
        assert_eq!(
            on_demand["vcpu_hour"]["source"]["from"], "price_list",
            "{r}"
        );
        assert_eq!(on_demand["gb_hour"]["usd"], "0.00451", "{r}");
    }
    let method = savings["method"].as_str().unwrap();
    assert!(
        method.contains("list-price estimates") && method.contains("the AWS Price List (asked"),
        "{method}"
    );

    // A dry run keeps nothing: the next one asks again.
    run(&["--dry-run", "--output", "json"]);
    assert_eq!(fake.seen().len(), 2 * asked);
    // A digest keeps the answers; the next one (a dry run reads what is kept) asks nothing.
    run(&[]);
    let kept = fake.seen().len();
    assert_eq!(kept, 3 * asked);
    let again = figures(run(&["--dry-run", "--output", "json"]));
    assert_eq!(fake.seen().len(), kept, "answered from the store");
    assert_eq!(again["resources"], savings["resources"]);
}
