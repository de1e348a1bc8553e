//! The engine's view of the cloud: observe an environment, make one write call.
//!
//! [`crate::aws::AwsCloud`] implements it with the AWS SDK; tests of the engine's logic may
//! implement it in memory, but every AWS call is also tested against a real API (moto).

use std::fmt;
use std::future::Future;

use crate::kinds::{Observation, Step};
use crate::model::Environment;

/// A write call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudError {
    /// The API operation, like `UpdateService`.
    pub operation: &'static str,
    /// The AWS error code, like `ThrottlingException`, when there is one.
    pub code: Option<String>,
    /// What AWS (or the transport) said.
    pub message: String,
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for CloudError {}

/// What the engine needs of a cloud.
pub trait Cloud: Send + Sync {
    /// Observes every resource the environment selects. Never fails as a whole: what cannot be
    /// observed is listed in [`Observation::ecs_errors`] and [`Observation::rds_errors`].
    fn observe(&self, env: &Environment) -> impl Future<Output = Observation> + Send;

    /// Requests made so far, by operation (retries included), where the cloud counts them.
    fn requests(&self) -> std::collections::BTreeMap<String, u64> {
        std::collections::BTreeMap::new()
    }

    /// Makes one write call in the environment's account and region.
    fn execute(
        &self,
        env: &Environment,
        step: &Step,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}
