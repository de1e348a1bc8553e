//! The environment's resources and what one hour of each costs, as the [`Inspect`] port prices
//! them (each kind its own way: Fargate task sizes, database instance classes, cache nodes).
//!
//! [`Inspect`]: crate::ports::Inspect

use crate::digest::Digester;
use crate::digest::input::ResourceCost;
use crate::kinds::Observation;
use crate::model::Environment;

impl Digester {
    /// What each resource is priced as (or why it cannot be). A resource lightsout never puts
    /// to sleep — a cache, or a database AWS will not stop (a read replica, a replica's source)
    /// — is priced as one that keeps costing while asleep, never under the savings.
    pub(super) async fn resources(
        &self,
        env: &Environment,
        observed: &Observation,
    ) -> Vec<ResourceCost> {
        let mut priced = self.inspect.priced(env, observed).await;
        for r in &mut priced {
            let stops = observed
                .each()
                .find(|o| o.id().to_string() == r.resource)
                .is_none_or(|o| o.can_sleep());
            r.sleeps &= stops;
        }
        priced
    }
}
