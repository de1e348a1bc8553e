//! ElastiCache replication groups and cache clusters: reported, never acted on. AWS has no way
//! to stop a cache, so while staging sleeps it keeps costing; lightsout observes it, prices it,
//! and says so in `status` and the digest ("what keeps costing while asleep").
//!
//! The `[elasticache]` table names replication groups or standalone cache clusters by id, or
//! selects them by tags.

use std::collections::BTreeMap;
use std::fmt;

use toml::de::DeTable;

use super::{Ctx, Rule, TagSelector};
use crate::diag::{Reader, lookup};

const KEYS: &[&str] = &["clusters", "select"];
const SELECT_KEYS: &[&str] = &["tags"];

/// Fallback on-demand prices per node-hour (USD), used when the AWS Price List cannot be asked.
/// Best-effort readings of aws.amazon.com/elasticache/pricing (2026-11), not checked against
/// the Price List API: check your region and node types before relying on them to the cent.
pub const PRICES: &str = r#"
[rds.us-east-1.elasticache-redis]
"cache.t3.micro" = 0.017
"cache.t3.small" = 0.034
"cache.t3.medium" = 0.068
"cache.t4g.micro" = 0.016
"cache.t4g.small" = 0.032
"cache.t4g.medium" = 0.065
"cache.m6g.large" = 0.149
"cache.r6g.large" = 0.206

[rds.eu-west-1.elasticache-redis]
"cache.t3.micro" = 0.018
"cache.t3.small" = 0.036
"cache.t3.medium" = 0.073
"cache.t4g.micro" = 0.017
"cache.t4g.small" = 0.034
"cache.t4g.medium" = 0.068
"cache.m6g.large" = 0.160
"cache.r6g.large" = 0.225

[rds.ap-southeast-2.elasticache-redis]
"cache.t3.micro" = 0.022
"cache.t3.small" = 0.044
"cache.t3.medium" = 0.088
"cache.t4g.micro" = 0.020
"cache.t4g.small" = 0.041
"cache.t4g.medium" = 0.082
"cache.m6g.large" = 0.190
"cache.r6g.large" = 0.263
"#;

/// The `[elasticache]` table.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Replication group or cache cluster ids.
    pub clusters: Vec<String>,
    /// Caches selected by tags.
    pub select: Vec<TagSelector>,
}

impl Selection {
    /// Whether it selects nothing.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty() && self.select.is_empty()
    }

    /// Reads `[elasticache]`.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>) -> Selection {
        rd.check_keys(t, KEYS, "[elasticache]");
        let mut sel = Selection::default();
        if let Some(v) = lookup(t, "clusters") {
            for (id, span) in rd.strings(v, "elasticache.clusters") {
                if !is_cache_id(id) {
                    rd.err(
                        span,
                        format!("\"{id}\" is not an ElastiCache identifier"),
                        Some("identifiers are 1 to 40 lowercase letters, digits and hyphens, starting with a letter".to_string()),
                    );
                } else if sel.clusters.iter().any(|x| x == id) {
                    rd.err(
                        span,
                        format!("\"{id}\" is listed twice"),
                        Some("remove one of them".to_string()),
                    );
                } else {
                    sel.clusters.push(id.to_string());
                    rd.named.push((format!("elasticache:{id}"), span));
                }
            }
        }
        if let Some(v) = lookup(t, "select") {
            for item in rd.array(v, "elasticache.select").unwrap_or_default() {
                let Some(st) = rd.table(item, "elasticache.select") else {
                    continue;
                };
                rd.check_keys(st, SELECT_KEYS, "[[elasticache.select]]");
                match lookup(st, "tags") {
                    Some(tv) => {
                        if let Some(tags) = rd.tags(tv, "tags") {
                            rd.selectors
                                .push((format!("elasticache {tags:?}"), item.span()));
                            sel.select.push(tags);
                        }
                    }
                    None => rd.err(
                        item.span(),
                        "[[elasticache.select]] needs `tags`",
                        Some("add tags = { Environment = \"staging\" }".to_string()),
                    ),
                }
            }
        }
        sel
    }
}

fn is_cache_id(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// An ElastiCache replication group or standalone cache cluster, as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCache {
    /// Replication group id, or cache cluster id.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Status: `available`, `modifying`, ...
    pub status: String,
    /// Engine: `redis`, `valkey`, `memcached`.
    pub engine: String,
    /// Node type, like `cache.t4g.small`.
    pub node_type: String,
    /// Nodes billed.
    pub nodes: u32,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl ObservedCache {
    /// `available (redis, 2 × cache.t4g.small)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {} × {})",
            self.status, self.engine, self.nodes, self.node_type
        )
    }

    /// The price table's product for its engine (`elasticache-redis`; Valkey is priced as
    /// Redis OSS is, which it is not cheaper than in every region: a fair upper bound).
    pub fn product(&self) -> String {
        match self.engine.as_str() {
            "valkey" | "redis" => "elasticache-redis".to_string(),
            other => format!("elasticache-{other}"),
        }
    }
}

impl fmt::Display for ObservedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A cache is never acted on: said so, with the reason.
pub fn rule(c: &ObservedCache, ctx: &Ctx<'_>) -> Rule {
    let state = ctx.state_reason;
    if ctx.awake {
        Rule::InSync(format!("{state}; {} (always on)", c.status))
    } else {
        Rule::Skip(format!(
            "{state}; AWS cannot stop an ElastiCache {}: it keeps running (and costing) while staging sleeps",
            if c.engine == "memcached" {
                "cluster"
            } else {
                "replication group"
            }
        ))
    }
}
