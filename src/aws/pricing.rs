//! AWS's Price List (`pricing:GetProducts`) — the [`Pricing`] port: the on-demand list price of
//! each Fargate rate and database instance class the digest needs, asked one product at a time
//! with filters narrow enough that a page or two answers it.
//!
//! The Price List answers only in us-east-1, eu-central-1 and ap-south-1 (its data is the same
//! whichever answers; `regionCode` is a filter): [`endpoint_region`] picks the nearest. Each
//! PriceList item is a JSON document in a string: `product.attributes` and
//! `terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD`. The Price List has no Fargate Spot
//! prices (they move; AWS's pricing page reads them from a separate feed): those are answered
//! "not listed" without a request, and the digest uses its shipped, dated ones.

use aws_sdk_pricing::types::{Filter, FilterType};
use futures_util::future::{BoxFuture, FutureExt};
use serde_json::Value;

use super::{AwsCloud, Clients, Pages, cloud_error};
use crate::model::{Environment, Money};
use crate::ports::{CloudError, Platform, PriceAnswer, PriceItem, Pricing};

/// Products asked for one price come in at most this many pages (of 100); more means the filters
/// no longer pick one product, and the answer is refused rather than guessed.
const MAX_PAGES: usize = 5;

/// The Price List endpoint nearest to `region`: eu-central-1 for Europe, the Middle East and
/// Africa, ap-south-1 for Asia Pacific, us-east-1 for the rest.
pub(crate) fn endpoint_region(region: &str) -> &'static str {
    let area = region.split('-').next().unwrap_or("");
    match area {
        "eu" | "me" | "af" | "il" => "eu-central-1",
        "ap" => "ap-south-1",
        _ => "us-east-1",
    }
}

/// What to ask the Price List for one item: a service code, filters, and how to recognise the
/// one product among those the filters return.
#[derive(Debug)]
struct Query {
    service: &'static str,
    filters: Vec<(FilterType, &'static str, String)>,
    /// The usage type's kind (before `:` and after any region prefix), e.g. `InstanceUsage`,
    /// or the whole usage type after the region prefix, e.g. `Fargate-GB-Hours`.
    usage: String,
    /// Whether `usage` is compared with the part before `:` (databases) or the whole type.
    before_colon: bool,
}

/// How to ask for `item`, or why the Price List cannot answer it (no request is made then).
fn query(item: &PriceItem) -> Result<Query, String> {
    let fargate = |region: &str, usage: &str| Query {
        service: "AmazonECS",
        filters: vec![
            (FilterType::TermMatch, "regionCode", region.to_string()),
            // CONTAINS, not TERM_MATCH: the usage type carries a region prefix (USE1-, APS2-)
            // that differs by region; the product is then picked by its exact suffix.
            (FilterType::Contains, "usagetype", usage.to_string()),
        ],
        usage: usage.to_string(),
        before_colon: false,
    };
    let spot = "the AWS Price List does not publish Fargate Spot prices (they move; AWS's pricing page reads them from a separate feed)";
    match item {
        PriceItem::FargateVcpu { spot: true, .. } | PriceItem::FargateGb { spot: true, .. } => {
            Err(spot.to_string())
        }
        PriceItem::FargateVcpu {
            region, platform, ..
        } => Ok(fargate(
            region,
            match platform {
                Platform::LinuxX86 => "Fargate-vCPU-Hours:perCPU",
                Platform::LinuxArm => "Fargate-ARM-vCPU-Hours:perCPU",
                Platform::Windows => "Fargate-Windows-vCPU-Hours:perCPU",
            },
        )),
        PriceItem::FargateGb {
            region, platform, ..
        } => Ok(fargate(
            region,
            match platform {
                Platform::LinuxX86 => "Fargate-GB-Hours",
                Platform::LinuxArm => "Fargate-ARM-GB-Hours",
                Platform::Windows => "Fargate-Windows-GB-Hours",
            },
        )),
        PriceItem::FargateWindowsLicence { region } => {
            Ok(fargate(region, "Fargate-Windows-OS-Hours:perCPU"))
        }
        PriceItem::DbInstance {
            region,
            engine,
            class,
            multi_az,
        } => {
            let database = match engine.as_str() {
                "postgres" => "PostgreSQL",
                "mysql" => "MySQL",
                "mariadb" => "MariaDB",
                "aurora-postgresql" => "Aurora PostgreSQL",
                "aurora-mysql" | "aurora" => "Aurora MySQL",
                other => {
                    return Err(format!(
                        "lightsout asks the Price List for RDS and Aurora engines only, not {other}"
                    ));
                }
            };
            let mut filters = vec![
                (FilterType::TermMatch, "regionCode", region.clone()),
                (FilterType::TermMatch, "instanceType", class.clone()),
                (
                    FilterType::TermMatch,
                    "databaseEngine",
                    database.to_string(),
                ),
            ];
            // Aurora instances have no deployment option (a standby is a reader instance of
            // its own); an RDS instance's Multi-AZ deployment is a product of its own.
            if !engine.starts_with("aurora") {
                filters.push((
                    FilterType::TermMatch,
                    "deploymentOption",
                    if *multi_az { "Multi-AZ" } else { "Single-AZ" }.to_string(),
                ));
            }
            Ok(Query {
                service: "AmazonRDS",
                filters,
                // Aurora's I/O-Optimized instances are `InstanceUsageIOOptimized`: not these.
                usage: if *multi_az && !engine.starts_with("aurora") {
                    "Multi-AZUsage"
                } else {
                    "InstanceUsage"
                }
                .to_string(),
                before_colon: true,
            })
        }
    }
}

/// Whether a product's usage type is `want`: `USE1-Fargate-GB-Hours` and `Fargate-GB-Hours` are
/// `Fargate-GB-Hours`, `USE1-SpotUsage-Fargate-GB-Hours` and `USE1-Fargate-ARM-GB-Hours` are
/// not; with `before_colon`, `EU-InstanceUsage:db.r6g.xl` is `InstanceUsage`.
fn usage_is(usagetype: &str, want: &str, before_colon: bool) -> bool {
    let head = if before_colon {
        usagetype.split(':').next().unwrap_or(usagetype)
    } else {
        usagetype
    };
    if head == want {
        return true;
    }
    // A region prefix is one dash-free word: `USE1-`, `EU-`, `APS2-`.
    head.strip_suffix(want)
        .and_then(|p| p.strip_suffix('-'))
        .is_some_and(|prefix| !prefix.is_empty() && !prefix.contains('-'))
}

/// The on-demand price per unit of one PriceList document, if its product is the one wanted:
/// `Ok(None)` for another product, `Err` for the wanted one with an unreadable price.
fn price_of(doc: &Value, q: &Query) -> Result<Option<Money>, String> {
    let usage = doc["product"]["attributes"]["usagetype"]
        .as_str()
        .unwrap_or("");
    if !usage_is(usage, &q.usage, q.before_colon) {
        return Ok(None);
    }
    let mut prices = Vec::new();
    for term in doc["terms"]["OnDemand"]
        .as_object()
        .into_iter()
        .flat_map(|t| t.values())
    {
        for dim in term["priceDimensions"]
            .as_object()
            .into_iter()
            .flat_map(|d| d.values())
        {
            // The first tier (a tiered product's later tiers are volume discounts).
            if dim["beginRange"].as_str().is_some_and(|b| b != "0") {
                continue;
            }
            let usd = dim["pricePerUnit"]["USD"]
                .as_str()
                .ok_or_else(|| format!("{usage} has an on-demand price without USD"))?;
            prices.push(exact(usd).ok_or_else(|| {
                format!("{usage} has a price lightsout cannot read exactly: {usd:?}")
            })?);
        }
    }
    prices.sort();
    prices.dedup();
    match prices.as_slice() {
        [p] => Ok(Some(*p)),
        [] => Err(format!("{usage} has no on-demand price")),
        many => Err(format!(
            "{usage} has {} on-demand prices ({})",
            many.len(),
            many.iter()
                .map(|m| m.exact())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A price as the Price List writes it (`"0.0404800000"`), exact to the nano-dollar; `None`
/// when it is not a plain decimal or has digits finer than a nano-dollar (rounding them would
/// make every figure built on it inexact).
fn exact(usd: &str) -> Option<Money> {
    let (_, frac) = usd.split_once('.').unwrap_or((usd, ""));
    if frac.len() > 9 && frac[9..].bytes().any(|b| b != b'0') {
        return None;
    }
    Money::parse(usd).filter(|m| m.0 >= 0)
}

/// Asks the Price List for one item: its price, or why it has none (`Ok(Err(why))`); `Err`
/// when the Price List could not be asked at all.
async fn ask(
    c: &Clients,
    item: &PriceItem,
    q: &Query,
) -> Result<Result<Money, String>, CloudError> {
    let filters: Vec<Filter> = q
        .filters
        .iter()
        .map(|(t, field, value)| {
            Filter::builder()
                .r#type(t.clone())
                .field(*field)
                .value(value)
                .build()
                .map_err(|e| CloudError {
                    operation: "GetProducts",
                    code: None,
                    message: format!("cannot build the filter on {field}: {e}"),
                })
        })
        .collect::<Result<_, _>>()?;
    let mut found: Vec<Money> = Vec::new();
    let mut unreadable: Option<String> = None;
    let mut pages = Pages::new();
    let mut token: Option<String> = None;
    for page in 1.. {
        if page > MAX_PAGES {
            return Ok(Err(format!(
                "the Price List answers more than {MAX_PAGES} pages for {item}; lightsout does not guess which product it is"
            )));
        }
        let out = c
            .pricing
            .get_products()
            .service_code(q.service)
            .set_filters(Some(filters.clone()))
            .format_version("aws_v1")
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| cloud_error("GetProducts", e))?;
        for text in out.price_list() {
            let doc: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    unreadable = Some(format!(
                        "the Price List answered a product that is not JSON ({e})"
                    ));
                    continue;
                }
            };
            match price_of(&doc, q) {
                Ok(Some(p)) => found.push(p),
                Ok(None) => {}
                Err(e) => unreadable = Some(e),
            }
        }
        match pages.next("GetProducts", out.next_token())? {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    found.sort();
    found.dedup();
    Ok(match (found.as_slice(), unreadable) {
        ([p], _) => Ok(*p),
        ([], Some(why)) => Err(why),
        ([], None) => Err(format!("the Price List has no product for {item}")),
        (many, _) => Err(format!(
            "the Price List has {} different prices for {item} ({})",
            many.len(),
            many.iter()
                .map(|m| m.exact())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })
}

/// Whether a failed call is about the item asked (a filter the API refuses) rather than about
/// the Price List as a whole (unreachable, throttled past the retries, access denied).
fn about_the_item(e: &CloudError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("InvalidParameterException" | "NotFoundException")
    )
}

/// The prices of `wanted`, one GetProducts query (and its pages) each; the first failure that
/// is not about its item stops the asking, and says why.
async fn price_list(c: &Clients, wanted: &[PriceItem]) -> PriceAnswer {
    let mut answer = PriceAnswer::default();
    for item in wanted {
        let q = match query(item) {
            Ok(q) => q,
            Err(why) => {
                answer.prices.push((item.clone(), Err(why)));
                continue;
            }
        };
        match ask(c, item, &q).await {
            Ok(price) => answer.prices.push((item.clone(), price)),
            Err(e) if about_the_item(&e) => answer.prices.push((item.clone(), Err(e.to_string()))),
            Err(e) => {
                answer.failed = Some(e.to_string());
                break;
            }
        }
    }
    answer
}

impl Pricing for AwsCloud {
    fn price_list<'a>(
        &'a self,
        env: &'a Environment,
        wanted: &'a [PriceItem],
    ) -> BoxFuture<'a, PriceAnswer> {
        async move {
            let c = self.clients(env).await;
            price_list(&c, wanted).await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(usagetype: &str, usd: &str) -> Value {
        serde_json::json!({
            "product": {"productFamily": "Compute", "attributes": {"usagetype": usagetype, "regionCode": "ap-southeast-2"}, "sku": "SKU1"},
            "serviceCode": "AmazonECS",
            "terms": {"OnDemand": {"SKU1.JRTCKXETXF": {"priceDimensions": {
                "SKU1.JRTCKXETXF.6YS6EN2CT7": {"unit": "hours", "beginRange": "0", "endRange": "Inf", "pricePerUnit": {"USD": usd}}
            }}}}
        })
    }

    #[test]
    fn the_nearest_price_list_endpoint() {
        assert_eq!(endpoint_region("us-west-2"), "us-east-1");
        assert_eq!(endpoint_region("ca-central-1"), "us-east-1");
        assert_eq!(endpoint_region("sa-east-1"), "us-east-1");
        assert_eq!(endpoint_region("eu-west-1"), "eu-central-1");
        assert_eq!(endpoint_region("me-south-1"), "eu-central-1");
        assert_eq!(endpoint_region("ap-southeast-2"), "ap-south-1");
        assert_eq!(endpoint_region("ap-northeast-1"), "ap-south-1");
    }

    /// The product is picked by its exact usage type, region prefix or not: never the ARM,
    /// Windows, Spot or ephemeral-storage product beside it.
    #[test]
    fn usage_types_are_matched_exactly() {
        for yes in [
            "Fargate-GB-Hours",
            "USE1-Fargate-GB-Hours",
            "APS2-Fargate-GB-Hours",
        ] {
            assert!(usage_is(yes, "Fargate-GB-Hours", false), "{yes}");
        }
        for no in [
            "USE1-Fargate-ARM-GB-Hours",
            "USE1-Fargate-Windows-GB-Hours",
            "USE1-SpotUsage-Fargate-GB-Hours",
            "USE1-Fargate-EphemeralStorage-GB-Hours",
            "-Fargate-GB-Hours",
        ] {
            assert!(!usage_is(no, "Fargate-GB-Hours", false), "{no}");
        }
        assert!(usage_is("InstanceUsage:db.r6g.xl", "InstanceUsage", true));
        assert!(usage_is(
            "APS2-InstanceUsage:db.t4g.micro",
            "InstanceUsage",
            true
        ));
        assert!(usage_is(
            "USE2-Multi-AZUsage:db.t3.micro",
            "Multi-AZUsage",
            true
        ));
        assert!(usage_is("Multi-AZUsage:db.t3.micro", "Multi-AZUsage", true));
        assert!(!usage_is(
            "Multi-AZUsage:db.t3.micro",
            "InstanceUsage",
            true
        ));
        assert!(!usage_is(
            "InstanceUsageIOOptimized:db.r6g.large",
            "InstanceUsage",
            true
        ));
        assert!(!usage_is(
            "Multi-AZClusterUsage:db.m6gd.large",
            "Multi-AZUsage",
            true
        ));
    }

    #[test]
    fn a_price_is_read_exactly_or_refused() {
        let q = query(&PriceItem::FargateGb {
            region: "ap-southeast-2".into(),
            platform: Platform::LinuxX86,
            spot: false,
        })
        .unwrap();
        assert_eq!(
            price_of(&doc("APS2-Fargate-GB-Hours", "0.0053200000"), &q),
            Ok(Some(Money(5_320_000)))
        );
        assert_eq!(
            price_of(&doc("APS2-Fargate-ARM-GB-Hours", "0.0042600000"), &q),
            Ok(None)
        );
        let e = price_of(&doc("APS2-Fargate-GB-Hours", "0.0000166667"), &q).unwrap_err();
        assert!(e.contains("cannot read exactly"), "{e}");
        assert!(price_of(&doc("APS2-Fargate-GB-Hours", "1e-3"), &q).is_err());
        assert_eq!(exact("0.0911750000"), Some(Money(91_175_000)));
        assert_eq!(exact("0.00511175"), Some(Money(5_111_750)));
    }

    #[test]
    fn spot_and_other_engines_are_not_asked() {
        let spot = PriceItem::FargateVcpu {
            region: "us-east-1".into(),
            platform: Platform::LinuxX86,
            spot: true,
        };
        assert!(
            query(&spot)
                .unwrap_err()
                .contains("does not publish Fargate Spot")
        );
        let cache = PriceItem::DbInstance {
            region: "us-east-1".into(),
            engine: "elasticache-redis".into(),
            class: "cache.t4g.small".into(),
            multi_az: false,
        };
        assert!(query(&cache).is_err());
        let aurora = query(&PriceItem::DbInstance {
            region: "eu-west-1".into(),
            engine: "aurora-postgresql".into(),
            class: "db.r6g.large".into(),
            multi_az: true,
        })
        .unwrap();
        assert!(
            !aurora
                .filters
                .iter()
                .any(|(_, f, _)| *f == "deploymentOption")
        );
        assert_eq!(aurora.usage, "InstanceUsage");
        let multi = query(&PriceItem::DbInstance {
            region: "eu-west-1".into(),
            engine: "postgres".into(),
            class: "db.t4g.small".into(),
            multi_az: true,
        })
        .unwrap();
        assert!(
            multi
                .filters
                .iter()
                .any(|(_, f, v)| *f == "deploymentOption" && v == "Multi-AZ")
        );
        assert_eq!(multi.usage, "Multi-AZUsage");
    }
}
