//! The environment's resources and what one hour of each costs, as the [`Inspect`] port prices
//! them (each kind its own way: Fargate task sizes, database instance classes, cache nodes).
//!
//! [`Inspect`]: crate::ports::Inspect

use crate::digest::Digester;
use crate::digest::input::ResourceCost;
use crate::kinds::Observation;
use crate::model::Environment;

impl Digester {
    /// What each resource is priced as (or why it cannot be).
    pub(super) async fn resources(
        &self,
        env: &Environment,
        observed: &Observation,
    ) -> Vec<ResourceCost> {
        self.inspect.priced(env, observed).await
    }
}
