//! The daily cost and health digest: spend against budget, what sleeping saved, who woke what,
//! and whether the environment is healthy.
//!
//! - [`input`]: what a digest is made from (gathered from AWS, the store and probes).

pub mod input;
pub mod prices;
