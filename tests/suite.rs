//! Every integration test, in one binary: each file under `tests/` is a module here (one link of
//! lightsout and the AWS SDK instead of one per file, and the tests of all files share the test
//! threads). A new file must be declared below: `every_test_file_is_declared` fails otherwise.
//! Run one file with `cargo test --test suite abuse::` (the module path filters).

#[path = "support/mod.rs"]
mod support;

#[path = "abuse.rs"]
mod abuse;
#[path = "alb_moto.rs"]
mod alb_moto;
#[path = "alb_oidc.rs"]
mod alb_oidc;
#[path = "api.rs"]
mod api;
#[path = "asg_moto.rs"]
mod asg_moto;
#[path = "check_cli.rs"]
mod check_cli;
#[path = "cli_seams_moto.rs"]
mod cli_seams_moto;
#[path = "concurrency_moto.rs"]
mod concurrency_moto;
#[path = "crash_moto.rs"]
mod crash_moto;
#[path = "deps.rs"]
mod deps;
#[path = "digest_moto.rs"]
mod digest_moto;
#[path = "digest_run_cost.rs"]
mod digest_run_cost;
#[path = "docdb_moto.rs"]
mod docdb_moto;
#[path = "ec2_moto.rs"]
mod ec2_moto;
#[path = "elasticache_moto.rs"]
mod elasticache_moto;
#[path = "events_moto.rs"]
mod events_moto;
#[path = "faults_moto.rs"]
mod faults_moto;
#[path = "fencing_moto.rs"]
mod fencing_moto;
#[path = "fleet_select_moto.rs"]
mod fleet_select_moto;
#[path = "fuzz_props.rs"]
mod fuzz_props;
#[path = "heads_up.rs"]
mod heads_up;
#[path = "help_cli.rs"]
mod help_cli;
#[path = "iam_coverage.rs"]
mod iam_coverage;
#[path = "idle_hour.rs"]
mod idle_hour;
#[path = "knock_api.rs"]
mod knock_api;
#[path = "lambda_continuation.rs"]
mod lambda_continuation;
#[path = "lambda_emulator.rs"]
mod lambda_emulator;
#[path = "lambda_events.rs"]
mod lambda_events;
#[path = "layers.rs"]
mod layers;
#[path = "limits_moto.rs"]
mod limits_moto;
#[path = "link_browser.rs"]
mod link_browser;
#[path = "load_mixed.rs"]
mod load_mixed;
#[path = "page_api.rs"]
mod page_api;
#[path = "page_browser.rs"]
mod page_browser;
#[path = "pricing_fake.rs"]
mod pricing_fake;
#[path = "pricing_moto.rs"]
mod pricing_moto;
#[path = "reconcile_moto.rs"]
mod reconcile_moto;
#[path = "redshift_moto.rs"]
mod redshift_moto;
#[path = "run_cost_month.rs"]
mod run_cost_month;
#[path = "serve_moto.rs"]
mod serve_moto;
#[path = "slack_interactive.rs"]
mod slack_interactive;
#[path = "store_suite.rs"]
mod store_suite;
#[path = "tiers_moto.rs"]
mod tiers_moto;
#[path = "wake_links.rs"]
mod wake_links;

/// `autotests = false` in Cargo.toml: a file under `tests/` that is not declared above would
/// be neither built nor run, silently. This names it.
#[test]
fn every_test_file_is_declared() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let suite = std::fs::read_to_string(dir.join("suite.rs")).expect("tests/suite.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".rs")
            && name != "suite.rs"
            && !suite.contains(&format!("#[path = \"{name}\"]"))
        {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "tests/{missing:?} not declared in tests/suite.rs: add `#[path = \"NAME.rs\"] mod NAME;`"
    );
}
