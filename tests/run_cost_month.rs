//! What a month of lightsout's Lambda form costs, for the reference environment and for a fleet
//! of 5,000 services over 50 clusters and 200 databases: a figure, not a timed test. It prints
//! the bill line by line (`cargo test --test suite run_cost_month:: -- --nocapture`) and pins the totals
//! that `benches/README.md` and the README quote.
//!
//! The month is 30 days with 22 working days, priced in the reference environment's region
//! (eu-west-1) and in us-east-1, with the deployment of `deploy/terraform` (x86_64, 256 MB,
//! `rate(1 minute)`, a digest a day). Pass durations are parameters (see each scenario).

use lightsout::digest::figures::{Activity, RunCost, RunProfile, run_cost};
use lightsout::digest::prices::PriceTable;
use lightsout::model::Money;

const MONTH: u64 = 30 * 86_400;
const WORKING_DAYS: u64 = 22;

/// One scenario's month.
struct Scenario {
    name: &'static str,
    /// Resources put to sleep and woken each working day.
    resources: u64,
    /// Passes that act per working day (a sleep; a wake in two: databases, then the rest),
    /// more when a transition spans several invocations.
    acting_passes_per_day: u64,
    /// A pass that finds nothing to do, ms (most of the month's 43,200).
    idle_pass_ms: u64,
    /// What the transitions of a working day add to the month's pass time, ms.
    transition_ms_per_day: u64,
    /// A digest, ms.
    digest_ms: u64,
}

fn month(s: &Scenario, region: &str) -> RunCost {
    let prices = PriceTable::shipped().run_prices(region).unwrap();
    let passes = MONTH / 60;
    let pass_ms = (passes * s.idle_pass_ms + WORKING_DAYS * s.transition_ms_per_day) / passes;
    let profile = RunProfile {
        pass_ms,
        digest_ms: s.digest_ms,
        ..RunProfile::deployed(region, 1)
    };
    let actions = WORKING_DAYS * 2 * s.resources;
    // The digest reads the trail from 40 days before the month: about 70 days of it.
    let audit_rows_read = actions * 70 / 30;
    run_cost(
        &profile,
        None,
        Activity {
            actions,
            acting_passes: WORKING_DAYS * s.acting_passes_per_day,
            audit_rows_read,
            recorded: false,
        },
        MONTH,
        &prices,
    )
}

fn print(s: &Scenario, region: &str, c: &RunCost) {
    println!("\n{} — {region}, 30 days", s.name);
    println!("| part | quantity | cost |");
    println!("|---|---|---|");
    for l in &c.lines {
        println!(
            "| {} | {} | {} ({}) |",
            l.what,
            l.quantity,
            l.cost,
            l.cost.exact()
        );
    }
    println!("| **total** | | **{}** ({}) |", c.total, c.total.exact());
}

fn reference() -> Scenario {
    // schedules/staging.toml: 2 services, 1 Auto Scaling group, 1 EC2 instance, 1 database. A
    // pass against AWS: 7 describes (about 40 ms each, in parallel by kind) and 3-4 store
    // calls: 300 ms idle; a sleep or wake pass about 1.5 s.
    Scenario {
        name: "reference environment (5 resources)",
        resources: 5,
        acting_passes_per_day: 3,
        idle_pass_ms: 300,
        transition_ms_per_day: 3 * 1_500,
        digest_ms: 2_000,
    }
}

fn fleet() -> Scenario {
    // 5,000 services / 50 clusters / 200 databases in one environment, with the durations the
    // fleet benchmark measured at AWS's published rates (`benches/fleet_limits.sh`, paced): an
    // idle pass makes 653 reads in 29.7 s (the ECS service read bucket, 20/s); the sleep takes
    // 1,063 s and the wake 43 s + 1,051 s (databases, then services), 36 minutes of invocations
    // a working day. The digest reads ~500,000 audit rows: about 60 s.
    Scenario {
        name: "fleet (5,000 services, 50 clusters, 200 databases)",
        resources: 5_200,
        acting_passes_per_day: 36,
        idle_pass_ms: 29_700,
        transition_ms_per_day: (1_063 + 43 + 1_051) * 1_000,
        digest_ms: 60_000,
    }
}

/// Prints the month's bill of both scenarios and pins their totals.
#[test]
fn a_month_of_the_lambda_form_reference_and_fleet() {
    let mut totals = Vec::new();
    for s in [reference(), fleet()] {
        for region in ["eu-west-1", "us-east-1", "ap-southeast-2"] {
            let c = month(&s, region);
            print(&s, region, &c);
            totals.push((s.name, region, c.total));
        }
    }
    let total = |name: &str, region: &str| {
        totals
            .iter()
            .find(|(n, r, _)| n.starts_with(name) && *r == region)
            .unwrap()
            .2
    };
    // The fleet's month follows its idle pass's duration.
    for idle_pass_ms in [10_000, 60_000] {
        let s = Scenario {
            idle_pass_ms,
            ..fleet()
        };
        println!(
            "\nfleet, idle pass {} s, eu-west-1: {}",
            idle_pass_ms / 1_000,
            month(&s, "eu-west-1").total
        );
    }
    // The figures benches/README.md quotes.
    assert_eq!(total("reference", "eu-west-1").to_string(), "$0.88");
    assert_eq!(total("fleet", "eu-west-1").to_string(), "$6.79");
    assert!(total("reference", "us-east-1") < Money::from_cents(100));
}
