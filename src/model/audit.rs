//! The audit trail: what was done or asked, to what, why, by whom, and how it went.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The environment.
    pub env: String,
    /// The resource (`ecs:cluster/service`, `rds:id`), or empty for a request about the whole
    /// environment.
    pub resource: String,
    /// What was done or asked: `wake`, `sleep`, or an action's steps.
    pub action: String,
    /// Why.
    pub reason: String,
    /// Who: a token's name, `schedule` for the reconcile loop.
    pub actor: String,
    /// `ok`, `failed: ...`, `refused: ...`.
    pub outcome: String,
}
