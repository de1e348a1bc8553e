//! The dependency facts the README states, checked against `cargo metadata` (offline: the lock
//! file and the registry cache the build already filled).
//!
//! - `rust-version` in Cargo.toml is true: no dependency built for Linux declares a newer one,
//!   and ours is not newer than the newest of theirs (a floor nobody needs locks users out).
//! - One SDK generation: every `aws-*` crate resolves to exactly one version.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--locked",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// "1.94.1" → (1, 94, 1); "1.85" → (1, 85, 0).
fn version(s: &str) -> (u64, u64, u64) {
    let mut parts = s.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// The packages in the resolved graph (normal, build and dev dependencies for Linux).
fn resolved(meta: &Value) -> Vec<&Value> {
    let ids: std::collections::HashSet<&str> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.contains(p["id"].as_str().unwrap()))
        .collect()
}

#[test]
fn rust_version_is_the_newest_floor_among_the_dependencies() {
    let meta = metadata();
    let packages = resolved(&meta);
    let ours = packages
        .iter()
        .find(|p| p["name"] == "lightsout")
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml declares rust-version");
    let mut floors: Vec<(String, &str)> = packages
        .iter()
        .filter(|p| p["name"] != "lightsout")
        .filter_map(|p| {
            let rv = p["rust_version"].as_str()?;
            Some((
                format!("{} {}", p["name"].as_str()?, p["version"].as_str()?),
                rv,
            ))
        })
        .collect();
    floors.sort_by_key(|(_, rv)| std::cmp::Reverse(version(rv)));
    let (newest_crate, newest) = floors.first().expect("dependencies declare rust-version");
    let above: Vec<String> = floors
        .iter()
        .filter(|(_, rv)| version(rv) > version(ours))
        .map(|(c, rv)| format!("{c} needs {rv}"))
        .collect();
    assert!(
        above.is_empty(),
        "Cargo.toml says rust-version = \"{ours}\" but {}{}: raise it to {newest}",
        above.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
        match above.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        }
    );
    assert_eq!(
        version(ours),
        version(newest),
        "Cargo.toml says rust-version = \"{ours}\"; the newest any dependency needs is {newest} \
         ({newest_crate}): lower it to that"
    );
}

#[test]
fn one_sdk_generation() {
    let meta = metadata();
    let mut versions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in resolved(&meta) {
        let name = p["name"].as_str().unwrap();
        if name.starts_with("aws-") {
            versions
                .entry(name)
                .or_default()
                .push(p["version"].as_str().unwrap());
        }
    }
    assert!(
        versions.len() > 10,
        "the SDK crates are in the graph: {versions:?}"
    );
    let two: Vec<String> = versions
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(n, v)| format!("{n} {}", v.join(" and ")))
        .collect();
    assert!(
        two.is_empty(),
        "two generations of the SDK in the graph: {}; `cargo update` and raise the floors in Cargo.toml",
        two.join(", ")
    );
}
