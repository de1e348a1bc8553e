//! The daily cost and health digest: spend against budget, what sleeping saved, who woke what,
//! and whether the environment is healthy.
//!
//! - [`input`]: what a digest is made from (gathered from AWS, the store and probes).
//! - [`prices`]: the price table shipped with the code (`prices.toml`).
//! - [`figures`]: every figure, computed purely from the input and the prices.
//! - [`render`]: Markdown, Slack Block Kit, plain text and email.
//! - [`chart`]: the month's daily spend as a PNG, and a sparkline for text channels.
//! - [`fixtures`]: a realistic input (the reference environment) for tests and samples.

pub mod chart;
pub mod figures;
pub mod fixtures;
pub mod input;
pub mod prices;
pub mod render;
