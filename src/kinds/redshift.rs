//! Redshift provisioned clusters: the `[redshift]` table, what is observed of a cluster, its
//! write calls, and the rules that pause and resume it (tier: data).
//!
//! A paused cluster stays paused until resumed (AWS does not resume it by itself), so no memory
//! is needed on the cluster: asleep, an `available` one is paused (again, if someone resumed it
//! by hand); awake, a `paused` one is resumed. Storage keeps costing while paused.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use toml::de::DeTable;

use super::{Ctx, Effect, Rule, TagSelector};
use crate::diag::Reader;

const KEYS: &[&str] = &["clusters", "select"];

/// The price table's product for Redshift nodes.
pub const PRODUCT: &str = "redshift";

/// Fallback on-demand prices per node-hour (USD). Best-effort readings of
/// aws.amazon.com/redshift/pricing (2026-11), not checked against the Price List API: check your
/// region and node types before relying on them to the cent.
pub const PRICES: &str = r#"
[rds.us-east-1.redshift]
"dc2.large" = 0.25
"ra3.large" = 0.543
"ra3.xlplus" = 1.086
"ra3.4xlarge" = 3.26

[rds.eu-west-1.redshift]
"dc2.large" = 0.30
"ra3.large" = 0.601
"ra3.xlplus" = 1.202
"ra3.4xlarge" = 3.606

[rds.ap-southeast-2.redshift]
"dc2.large" = 0.35
"ra3.large" = 0.701
"ra3.xlplus" = 1.402
"ra3.4xlarge" = 4.206
"#;

/// The `[redshift]` table.
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

    /// Reads `[redshift]`.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>) -> Selection {
        rd.check_keys(t, KEYS, "[redshift]");
        let (clusters, select) = super::ids_and_selectors(
            rd,
            t,
            "redshift",
            "clusters",
            "redshift",
            |id| {
                let ok = (1..=63).contains(&id.len())
                    && id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    && !id.ends_with('-')
                    && !id.contains("--");
                (!ok).then(|| {
                    (
                        format!("\"{id}\" is not a Redshift cluster identifier"),
                        "identifiers are 1 to 63 lowercase letters, digits and hyphens, starting with a letter".to_string(),
                    )
                })
            },
        );
        Selection { clusters, select }
    }
}

/// A cluster's status, as Redshift reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterStatus {
    /// `available`.
    Available,
    /// `paused`.
    Paused,
    /// Anything else (`pausing`, `resuming`, `modifying`, ...), as Redshift says it.
    Other(String),
}

impl ClusterStatus {
    /// Reads Redshift's status text.
    pub fn parse(s: &str) -> ClusterStatus {
        match s {
            "available" => ClusterStatus::Available,
            "paused" => ClusterStatus::Paused,
            other => ClusterStatus::Other(other.to_string()),
        }
    }
}

impl fmt::Display for ClusterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterStatus::Available => f.write_str("available"),
            ClusterStatus::Paused => f.write_str("paused"),
            ClusterStatus::Other(s) => f.write_str(s),
        }
    }
}

/// A Redshift provisioned cluster as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedWarehouse {
    /// Cluster identifier.
    pub id: String,
    /// Its status.
    pub status: ClusterStatus,
    /// Node type, like `ra3.xlplus`.
    pub node_type: String,
    /// Nodes billed.
    pub nodes: u32,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl ObservedWarehouse {
    /// `available (2 × ra3.xlplus)`.
    pub fn describe(&self) -> String {
        format!("{} ({} × {})", self.status, self.nodes, self.node_type)
    }

    /// Paused (by lightsout or anyone: resuming it on waking is right either way).
    pub fn slept(&self) -> bool {
        self.status == ClusterStatus::Paused
    }
}

/// One Redshift write call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Step {
    /// `PauseCluster`.
    Pause {
        /// Cluster identifier.
        id: String,
    },
    /// `ResumeCluster`.
    Resume {
        /// Cluster identifier.
        id: String,
    },
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::Pause { .. } => "PauseCluster",
            Step::Resume { .. } => "ResumeCluster",
        }
    }

    /// A word for plan tables.
    pub fn label(&self) -> String {
        match self {
            Step::Pause { .. } => "pause".into(),
            Step::Resume { .. } => "resume".into(),
        }
    }

    /// A pause puts the cluster to sleep; a resume wakes it.
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Step::Pause { .. } => Some(Effect::Sleep),
            Step::Resume { .. } => Some(Effect::Wake),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation())
    }
}

/// What should be done with a cluster (its guard and `skip-until` were checked already).
pub fn rule(w: &ObservedWarehouse, ctx: &Ctx<'_>) -> Rule {
    let state = ctx.state_reason;
    let act =
        |s: Step, why: &str| Rule::Act(vec![super::Step::Redshift(s)], format!("{state}; {why}"));
    match (ctx.awake, &w.status) {
        (false, ClusterStatus::Paused) | (true, ClusterStatus::Available) => {
            Rule::InSync(format!("{state}; {}", w.status))
        }
        (false, ClusterStatus::Available) => act(Step::Pause { id: w.id.clone() }, "pausing"),
        (true, ClusterStatus::Paused) => act(Step::Resume { id: w.id.clone() }, "resuming"),
        (_, s) => Rule::Wait(format!("{state}; {s}: acting once it settles")),
    }
}
