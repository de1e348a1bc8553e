//! The public keys an ALB signs its `x-amzn-oidc-data` tokens with: plain HTTPS GETs of
//! `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>` (no SDK call, no IAM permission;
//! the answer is a PEM public key). Verification is `crate::api::oidc`'s.

use std::time::Duration;

/// The key service of `region`, as AWS documents it.
pub fn key_base(region: &str) -> String {
    format!("https://public-keys.auth.elb.{region}.amazonaws.com")
}

/// Fetches `url` (blocking; at most `timeout`): the PEM text, or why not.
pub fn fetch_key(url: &str, timeout: Duration) -> Result<String, String> {
    let agent = super::http_agent(timeout);
    let mut resp = agent
        .get(url)
        .call()
        .map_err(|e| format!("the load balancer's key service is unreachable: {e}"))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(format!("the load balancer's key service answered {status}"));
    }
    resp.body_mut()
        .with_config()
        .limit(16 * 1024)
        .read_to_string()
        .map_err(|e| format!("the load balancer's key could not be read: {e}"))
}
