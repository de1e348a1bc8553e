//! DocumentDB and Neptune clusters: the `[docdb]` and `[neptune]` tables and what is observed
//! of such a cluster (tier: data). Two kinds, one file: both are RDS-API clusters of another
//! engine (`DescribeDBClusters` with an `engine` filter, `StopDBCluster`, `StartDBCluster`), and
//! both are started by AWS after 7 days stopped — so their rule is RDS's, `slept-at` and all,
//! and their write calls are RDS's steps.

use std::fmt;

use serde::Serialize;
use toml::de::DeTable;

use super::rds::ObservedDb;
use super::{Ctx, Kind, ResourceId, Rule, TagSelector};
use crate::diag::Reader;

const KEYS: &[&str] = &["clusters", "select"];

/// Fallback on-demand prices per instance-hour (USD). Best-effort readings of
/// aws.amazon.com/documentdb/pricing and aws.amazon.com/neptune/pricing (2026-11), not checked
/// against the Price List API: check your region and classes before relying on them to the cent.
pub const PRICES: &str = r#"
[rds.us-east-1.docdb]
"db.t3.medium" = 0.078
"db.t4g.medium" = 0.076
"db.r6g.large" = 0.264
"db.r5.large" = 0.277

[rds.eu-west-1.docdb]
"db.t3.medium" = 0.085
"db.t4g.medium" = 0.083
"db.r6g.large" = 0.289
"db.r5.large" = 0.304

[rds.ap-southeast-2.docdb]
"db.t3.medium" = 0.096
"db.t4g.medium" = 0.094
"db.r6g.large" = 0.327
"db.r5.large" = 0.344

[rds.us-east-1.neptune]
"db.t3.medium" = 0.098
"db.t4g.medium" = 0.094
"db.r6g.large" = 0.359
"db.r5.large" = 0.348

[rds.eu-west-1.neptune]
"db.t3.medium" = 0.107
"db.t4g.medium" = 0.103
"db.r6g.large" = 0.393
"db.r5.large" = 0.381

[rds.ap-southeast-2.neptune]
"db.t3.medium" = 0.121
"db.t4g.medium" = 0.116
"db.r6g.large" = 0.443
"db.r5.large" = 0.429
"#;

/// Which engine: DocumentDB or Neptune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Amazon DocumentDB (`docdb`).
    DocDb,
    /// Amazon Neptune (`neptune`).
    Neptune,
}

impl Engine {
    /// The engine name RDS reports, and its table's name: `docdb`, `neptune`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::DocDb => "docdb",
            Engine::Neptune => "neptune",
        }
    }

    /// `DocumentDB`, `Neptune`.
    pub fn product(self) -> &'static str {
        match self {
            Engine::DocDb => "DocumentDB",
            Engine::Neptune => "Neptune",
        }
    }

    /// Its kind.
    pub fn kind(self) -> Kind {
        match self {
            Engine::DocDb => Kind::DocDb,
            Engine::Neptune => Kind::Neptune,
        }
    }

    /// A cluster's id.
    pub fn id(self, cluster: &str) -> ResourceId {
        match self {
            Engine::DocDb => ResourceId::DocDbCluster(cluster.to_string()),
            Engine::Neptune => ResourceId::NeptuneCluster(cluster.to_string()),
        }
    }

    /// The engine of an RDS-API engine name, if it is one of these.
    pub fn of(engine: &str) -> Option<Engine> {
        match engine {
            "docdb" => Some(Engine::DocDb),
            "neptune" => Some(Engine::Neptune),
            _ => None,
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.product())
    }
}

/// The `[docdb]` or `[neptune]` table.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Cluster identifiers.
    pub clusters: Vec<String>,
    /// Clusters selected by tags.
    pub select: Vec<TagSelector>,
}

impl Selection {
    /// Whether it selects nothing.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty() && self.select.is_empty()
    }

    /// Reads `[docdb]` or `[neptune]`.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>, engine: Engine) -> Selection {
        let table = engine.name();
        rd.check_keys(t, KEYS, &format!("[{table}]"));
        let (clusters, select) = super::ids_and_selectors(rd, t, table, "clusters", table, |id| {
            let ok = (1..=63).contains(&id.len())
                && id.starts_with(|c: char| c.is_ascii_alphabetic())
                && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !id.ends_with('-')
                && !id.contains("--");
            (!ok).then(|| {
                    (
                        format!("\"{id}\" is not a {engine} cluster identifier"),
                        "identifiers are 1 to 63 letters, digits and hyphens, starting with a letter: the cluster's, not an instance's".to_string(),
                    )
                })
        });
        Selection { clusters, select }
    }
}

/// A DocumentDB or Neptune cluster as observed: an RDS-API cluster and its engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCluster {
    /// DocumentDB or Neptune.
    pub engine: Engine,
    /// The cluster, as RDS describes it.
    pub db: ObservedDb,
}

impl ObservedCluster {
    /// Its id: `docdb:x`, `neptune:x`.
    pub fn resource_id(&self) -> ResourceId {
        self.engine.id(&self.db.id)
    }
}

/// What should be done with a cluster: RDS's rule (a stop recorded by `slept-at` first, the
/// 7-day automatic start recognised and stopped again).
pub fn rule(c: &ObservedCluster, ctx: &Ctx<'_>) -> Rule {
    super::rds::rule(&c.db, ctx)
}
