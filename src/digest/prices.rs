//! The price table shipped with lightsout (`prices.toml`): on-demand list prices per region for
//! Fargate (per vCPU-hour and GB-hour) and RDS/Aurora (per instance-hour), with the date they
//! were taken. Prices are read exactly (to the nano-dollar) and never go through floating point
//! arithmetic: a price written `0.004445` is 4,445,000 nano-dollars.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;

use super::input::{Money, Size};

/// Where the shipped table lives, for messages that tell how to fix it.
const FILE: &str = "src/digest/prices.toml";

/// A cost per hour, exact: units of 1/1024 nano-dollar per hour, so that a Fargate task size
/// (vCPU in 1/1024 units, memory in MiB) times a price stays an integer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Rate(pub i128);

impl Rate {
    /// Nothing per hour.
    pub const ZERO: Rate = Rate(0);

    /// The cost of one hour, rounded half away from zero to the nano-dollar.
    pub fn hourly(self) -> Money {
        self.cost(3_600)
    }

    /// The cost of `seconds` at this rate, rounded half away from zero to the nano-dollar (the
    /// unit of [`Money`]; rounding to the cent happens once, when it is shown).
    pub fn cost(self, seconds: i64) -> Money {
        // Rate units per nano-dollar-second: 1024 (fraction) × 3600 (s/h).
        let den: i128 = 1024 * 3600;
        let num = self.0 * i128::from(seconds);
        let q = (num.abs() + den / 2) / den;
        Money(i64::try_from(if num < 0 { -q } else { q }).unwrap_or(i64::MAX))
    }
}

impl std::ops::Add for Rate {
    type Output = Rate;
    fn add(self, o: Rate) -> Rate {
        Rate(self.0 + o.0)
    }
}

impl std::iter::Sum for Rate {
    fn sum<I: Iterator<Item = Rate>>(it: I) -> Rate {
        Rate(it.map(|r| r.0).sum())
    }
}

/// Fargate prices of one architecture in one region, in nano-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FargatePrice {
    vcpu_hour: i64,
    gb_hour: i64,
}

/// The price table: Fargate and RDS on-demand prices by region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    taken: String,
    source: String,
    /// region → (x86, arm).
    fargate: BTreeMap<String, (FargatePrice, FargatePrice)>,
    /// (region, engine) → instance class → nano-dollars per hour.
    rds: BTreeMap<(String, String), BTreeMap<String, i64>>,
}

impl PriceTable {
    /// The table shipped with the code, parsed once.
    pub fn shipped() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            // A unit test proves the shipped file parses; a broken edit fails the build's tests.
            let mut table = PriceTable::parse(include_str!("prices.toml"))
                .unwrap_or_else(|e| panic!("{FILE} does not parse: {e}"));
            // Each resource kind may ship prices for what it prices, in the same format.
            for kind in crate::kinds::Kind::ALL {
                if !kind.prices().trim().is_empty() {
                    table.merge(kind.prices()).unwrap_or_else(|e| {
                        panic!("the {} kind's prices do not parse: {e}", kind.table())
                    });
                }
            }
            table
        })
    }

    /// Reads a price table. The error names the entry that is wrong and what was expected.
    pub fn parse(text: &str) -> Result<PriceTable, String> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| format!("not TOML: {e}"))?;
        let string = |key: &str| match doc.get(key) {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(other) => Err(format!(
                "`{key}` must be a non-empty string, found {}",
                show(other)
            )),
            None => Err(format!("`{key}` is missing")),
        };
        let taken = string("taken")?;
        if chrono::NaiveDate::parse_from_str(&taken, "%Y-%m-%d").is_err() {
            return Err(format!(
                "`taken` must be a date like \"2026-11-01\", found \"{taken}\""
            ));
        }
        let source = string("source")?;
        for key in doc.keys() {
            if !["taken", "source", "fargate", "rds"].contains(&key.as_str()) {
                return Err(format!(
                    "unknown key `{key}` (expected taken, source, [fargate.REGION], [rds.REGION.ENGINE])"
                ));
            }
        }
        let mut fargate = BTreeMap::new();
        for (region, v) in table(doc.get("fargate"), "fargate")? {
            let at = format!("fargate.{region}");
            let regional = as_table(v, &at)?;
            let arch = |name: &str| -> Result<FargatePrice, String> {
                let at = format!("{at}.{name}");
                let t = as_table(
                    regional
                        .get(name)
                        .ok_or_else(|| format!("`{at}` is missing"))?,
                    &at,
                )?;
                let price = |k: &str| {
                    let at = format!("{at}.{k}");
                    price(t.get(k).ok_or_else(|| format!("`{at}` is missing"))?, &at)
                };
                Ok(FargatePrice {
                    vcpu_hour: price("vcpu_hour")?,
                    gb_hour: price("gb_hour")?,
                })
            };
            fargate.insert(region.clone(), (arch("x86")?, arch("arm")?));
        }
        let mut rds = BTreeMap::new();
        for (region, v) in table(doc.get("rds"), "rds")? {
            for (engine, v) in as_table(v, &format!("rds.{region}"))? {
                let at = format!("rds.{region}.{engine}");
                let mut classes = BTreeMap::new();
                for (class, v) in as_table(v, &at)? {
                    classes.insert(class.clone(), price(v, &format!("{at}.\"{class}\""))?);
                }
                rds.insert((region.clone(), engine.clone()), classes);
            }
        }
        Ok(PriceTable {
            taken,
            source,
            fargate,
            rds,
        })
    }

    /// The date the prices were taken, `2026-11-01`.
    /// Adds the `[fargate.REGION]` and `[rds.REGION.ENGINE]` tables of a price fragment (no
    /// `taken` or `source` needed) to this table.
    pub fn merge(&mut self, fragment: &str) -> Result<(), String> {
        let head = format!("taken = \"{}\"\nsource = \"{}\"\n", self.taken, self.source);
        let more = PriceTable::parse(&format!("{head}{}", with_sections(fragment)))?;
        self.fargate.extend(more.fargate);
        self.rds.extend(more.rds);
        Ok(())
    }

    pub fn taken(&self) -> &str {
        &self.taken
    }

    /// Where the prices come from, in one line.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// What an hour of a resource of this size costs, to the nano-dollar.
    pub fn hourly(&self, size: &Size) -> Result<Money, String> {
        self.rate(size).map(Rate::hourly)
    }

    /// What an hour of a resource of this size costs, exactly; `Err` says why it cannot be
    /// priced and how to fix that.
    pub fn rate(&self, size: &Size) -> Result<Rate, String> {
        let fix = format!("(taken {}); add it to {FILE}", self.taken);
        match size {
            Size::Unknown(why) => Err(why.clone()),
            Size::Fargate {
                region,
                cpu_units,
                memory_mib,
                arm,
                tasks,
            } => {
                let (x86, graviton) = self.fargate.get(region).ok_or_else(|| {
                    format!("no Fargate price for region {region} in the price table {fix}")
                })?;
                let p = if *arm { graviton } else { x86 };
                let per_task = i128::from(*cpu_units) * i128::from(p.vcpu_hour)
                    + i128::from(*memory_mib) * i128::from(p.gb_hour);
                Ok(Rate(per_task * i128::from(*tasks)))
            }
            Size::Database {
                region,
                classes,
                engine,
                multi_az,
            } => {
                if classes.is_empty() {
                    return Err(format!(
                        "no instance classes known for this {engine} database"
                    ));
                }
                let engine_key = match engine.as_str() {
                    "aurora" => "aurora-mysql",
                    "postgresql" => "postgres",
                    e => e,
                };
                let prices = self
                    .rds
                    .get(&(region.clone(), engine_key.to_string()))
                    .ok_or_else(|| {
                        format!("no RDS price for engine {engine} in region {region} in the price table {fix}")
                    })?;
                let aurora = engine_key.starts_with("aurora");
                let mut total = Rate::ZERO;
                for class in classes {
                    let p = prices.get(class).ok_or_else(|| {
                        format!("no RDS price for {class} ({engine}) in region {region} in the price table {fix}")
                    })?;
                    let copies = if *multi_az && !aurora { 2 } else { 1 };
                    total = total + Rate(i128::from(*p) * 1024 * copies);
                }
                Ok(total)
            }
        }
    }
}

/// A fragment with the `[fargate]` and `[rds]` tables present (empty when it has none), so it
/// parses as a whole table.
fn with_sections(fragment: &str) -> String {
    let mut out = fragment.to_string();
    for section in ["fargate", "rds"] {
        if !fragment.contains(&format!("[{section}.")) {
            out.push_str(&format!("\n[{section}]\n"));
        }
    }
    out
}

fn table<'t>(v: Option<&'t toml::Value>, at: &str) -> Result<&'t toml::Table, String> {
    match v {
        Some(v) => as_table(v, at),
        None => Err(format!("[{at}] is missing")),
    }
}

fn as_table<'t>(v: &'t toml::Value, at: &str) -> Result<&'t toml::Table, String> {
    v.as_table()
        .ok_or_else(|| format!("`{at}` must be a table, found {}", show(v)))
}

/// A value as it would be written in the file, for messages.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!("a {}", other.type_str()),
    }
}

/// A price in USD (a number or a string like `"0.04048"`), exact to the nano-dollar.
fn price(v: &toml::Value, at: &str) -> Result<i64, String> {
    let text = match v {
        // The shortest text that reads back as the same float is what was written by hand.
        toml::Value::Float(f) => format!("{f}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::String(s) => s.trim().to_string(),
        other => show(other),
    };
    let bad = || {
        format!(
            "`{at}` must be a price in USD like 0.04048, found {}",
            show(v)
        )
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
    {
        return Err(bad());
    }
    let mut nanos: i64 = int
        .parse::<i64>()
        .map_err(|_| bad())?
        .checked_mul(1_000_000_000)
        .ok_or_else(bad)?;
    let mut scale = 100_000_000;
    for b in frac.bytes() {
        nanos += i64::from(b - b'0') * scale;
        scale /= 10;
    }
    Ok(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fargate(region: &str, cpu: u32, mem: u32, arm: bool, tasks: u32) -> Size {
        Size::Fargate {
            region: region.into(),
            cpu_units: cpu,
            memory_mib: mem,
            arm,
            tasks,
        }
    }

    fn db(region: &str, classes: &[&str], engine: &str, multi_az: bool) -> Size {
        Size::Database {
            region: region.into(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
            engine: engine.into(),
            multi_az,
        }
    }

    #[test]
    fn shipped_table_parses_and_covers_the_promised_regions() {
        let t = PriceTable::shipped();
        assert_eq!(t.taken(), "2026-11-01");
        assert!(!t.source().is_empty());
        for region in [
            "us-east-1",
            "us-east-2",
            "us-west-2",
            "eu-west-1",
            "eu-central-1",
            "eu-west-2",
            "ap-southeast-2",
        ] {
            for arm in [false, true] {
                assert!(
                    t.hourly(&fargate(region, 1024, 2048, arm, 1)).is_ok(),
                    "{region}"
                );
            }
            for (engine, classes) in [
                (
                    "postgres",
                    &[
                        "db.t3.micro",
                        "db.t4g.large",
                        "db.m6g.xlarge",
                        "db.m7g.large",
                        "db.r6g.large",
                        "db.r7g.xlarge",
                    ][..],
                ),
                (
                    "mysql",
                    &[
                        "db.t3.small",
                        "db.t4g.medium",
                        "db.m6g.large",
                        "db.m7g.xlarge",
                        "db.r6g.xlarge",
                        "db.r7g.large",
                    ][..],
                ),
                (
                    "aurora-postgresql",
                    &[
                        "db.t3.medium",
                        "db.t4g.medium",
                        "db.r6g.large",
                        "db.r7g.xlarge",
                    ][..],
                ),
                (
                    "aurora-mysql",
                    &[
                        "db.t3.medium",
                        "db.t4g.medium",
                        "db.r6g.xlarge",
                        "db.r7g.large",
                    ][..],
                ),
            ] {
                for class in classes {
                    let h = t.hourly(&db(region, &[class], engine, false));
                    assert!(
                        h.as_ref().is_ok_and(|m| m.0 > 0),
                        "{region} {engine} {class}: {h:?}"
                    );
                }
            }
        }
    }

    /// us-east-1 Fargate x86 as published: $0.04048 per vCPU-hour, $0.004445 per GB-hour.
    #[test]
    fn fargate_task_cost_is_vcpu_plus_memory_times_tasks() {
        let t = PriceTable::shipped();
        // 1 vCPU + 2 GB = 0.04048 + 2 × 0.004445 = $0.04937 an hour.
        assert_eq!(
            t.hourly(&fargate("us-east-1", 1024, 2048, false, 1)),
            Ok(Money::from_micros(49_370))
        );
        // ARM: 0.25 × 0.03238 + 0.5 × 0.00356 = 0.008095 + 0.00178 = $0.009875, × 3 tasks.
        assert_eq!(
            t.hourly(&fargate("us-east-1", 256, 512, true, 3)),
            Ok(Money::from_micros(29_625))
        );
        // 0.25 vCPU + 0.5 GB x86 = 0.01012 + 0.0022225 = $0.0123425: exact as a rate,
        // rounded half away from zero only when shown as Money.
        let r = t.rate(&fargate("us-east-1", 256, 512, false, 1)).unwrap();
        assert_eq!(r.hourly(), Money(12_342_500));
        assert_eq!(r.cost(3_600 * 1000), Money::from_micros(12_342_500)); // 1000 h = $12.3425 exactly
        assert_eq!(
            t.hourly(&fargate("us-east-1", 1024, 2048, false, 0)),
            Ok(Money::ZERO)
        );
    }

    #[test]
    fn rds_price_per_class_doubles_for_multi_az_but_not_aurora() {
        let t = PriceTable::shipped();
        let single = t
            .hourly(&db("us-east-1", &["db.t4g.micro"], "postgres", false))
            .unwrap();
        assert_eq!(single, Money::from_micros(16_000));
        assert_eq!(
            t.hourly(&db("us-east-1", &["db.t4g.micro"], "postgres", true)),
            Ok(Money::from_micros(32_000))
        );
        let aurora = t.hourly(&db(
            "us-east-1",
            &["db.t4g.medium", "db.t4g.medium"],
            "aurora-postgresql",
            true,
        ));
        assert_eq!(aurora, Ok(Money::from_micros(146_000)));
    }

    #[test]
    fn unknown_region_class_engine_and_size_say_why_and_how_to_fix() {
        let t = PriceTable::shipped();
        assert_eq!(
            t.hourly(&fargate("xx-nowhere-1", 256, 512, false, 1)),
            Err("no Fargate price for region xx-nowhere-1 in the price table (taken 2026-11-01); add it to src/digest/prices.toml".to_string())
        );
        let e = t
            .hourly(&db("eu-west-1", &["db.x9.huge"], "postgres", false))
            .unwrap_err();
        assert!(
            e.contains("no RDS price for db.x9.huge (postgres) in region eu-west-1")
                && e.contains("prices.toml"),
            "{e}"
        );
        let e = t
            .hourly(&db("eu-west-1", &["db.t3.micro"], "oracle-ee", false))
            .unwrap_err();
        assert!(e.contains("engine oracle-ee"), "{e}");
        assert!(t.hourly(&db("eu-west-1", &[], "postgres", false)).is_err());
        assert_eq!(
            t.hourly(&Size::Unknown("no task definition size".into())),
            Err("no task definition size".to_string())
        );
    }

    #[test]
    fn parse_errors_name_the_bad_entry() {
        let head = "taken = \"2026-11-01\"\nsource = \"test\"\n";
        let ok = format!(
            "{head}[fargate.r1]\nx86 = {{ vcpu_hour = 0.1, gb_hour = \"0.01\" }}\narm = {{ vcpu_hour = 0.08, gb_hour = 0.008 }}\n[rds.r1.postgres]\n\"db.t3.micro\" = 0.02\n"
        );
        let t = PriceTable::parse(&ok).unwrap();
        assert_eq!(
            t.hourly(&fargate("r1", 1024, 1024, false, 1)),
            Ok(Money::from_micros(110_000))
        );
        let e = PriceTable::parse(&ok.replace("0.02", "\"cheap\"")).unwrap_err();
        assert!(
            e.contains("rds.r1.postgres.\"db.t3.micro\"") && e.contains("cheap"),
            "{e}"
        );
        let e = PriceTable::parse(&ok.replace("gb_hour = 0.008", "gb = 0.008")).unwrap_err();
        assert!(e.contains("fargate.r1.arm.gb_hour` is missing"), "{e}");
        let e = PriceTable::parse(&ok.replace("0.08", "-0.08")).unwrap_err();
        assert!(e.contains("fargate.r1.arm.vcpu_hour"), "{e}");
        let e = PriceTable::parse(&ok.replace("2026-11-01", "November")).unwrap_err();
        assert!(e.contains("`taken`"), "{e}");
        assert!(
            PriceTable::parse("taken = ")
                .unwrap_err()
                .contains("not TOML")
        );
    }
}
