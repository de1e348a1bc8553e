//! The prices a digest uses: on-demand list prices per region for Fargate (per vCPU-hour and
//! GB-hour, by operating system and CPU architecture, on demand and on Fargate Spot, and the
//! Windows licence per vCPU-hour) and RDS/Aurora (per instance-hour).
//!
//! [`PriceTable::shipped`] is the table shipped with lightsout (`prices.toml`, dated). The
//! digest asks AWS's Price List for the prices its resources need and lays them over it
//! ([`PriceTable::with_price_list`]); every price used says where it came from
//! ([`PriceSource`]), and a shipped one why the Price List's was not used.
//!
//! Prices are read exactly (to the nano-dollar) and never go through floating point
//! arithmetic: a price written `0.004445` is 4,445,000 nano-dollars.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Serialize;

use super::input::{Money, Platform, PriceItem, Size, TaskOs};

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

/// Fargate prices of one platform in one region, in nano-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FargatePrice {
    vcpu_hour: i64,
    gb_hour: i64,
}

/// Fargate Spot prices of a region, with the day they were read: they move.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SpotPrices {
    taken: String,
    x86: Option<FargatePrice>,
    arm: Option<FargatePrice>,
}

/// A region's Fargate prices.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RegionFargate {
    x86: FargatePrice,
    arm: FargatePrice,
    /// Windows (x86 only): vCPU and GB, and the licence per vCPU-hour.
    windows: Option<(FargatePrice, i64)>,
    spot: Option<SpotPrices>,
}

/// One database class's price: Single-AZ, and Multi-AZ where the table states it (else twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DbPrice {
    single_az: i64,
    multi_az: Option<i64>,
}

/// The price table: the shipped prices by region, and the prices AWS's Price List gave for
/// this digest, laid over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    taken: String,
    source: String,
    fargate: BTreeMap<String, RegionFargate>,
    /// (region, engine) → instance class → price.
    rds: BTreeMap<(String, String), BTreeMap<String, DbPrice>>,
    /// Region → what running lightsout itself costs there.
    run: BTreeMap<String, RunPrices>,
    /// Prices from AWS's Price List, with the day they were asked.
    listed: BTreeMap<PriceItem, (Money, NaiveDate)>,
    /// Why the Price List gave no price for an item (the shipped one is used instead).
    unlisted: BTreeMap<PriceItem, String>,
    /// Why the Price List could not be asked at all, when it could not.
    price_list_failed: Option<String>,
}

/// What running lightsout itself costs in one region (`[lightsout.REGION]`), in nano-dollars:
/// the Lambda form, its DynamoDB table, Cost Explorer, CloudWatch Logs and its alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunPrices {
    /// Lambda, per million requests (invocations).
    pub lambda_requests_per_million: i64,
    /// Lambda on x86_64, per million GB-seconds.
    pub lambda_x86_gb_seconds_per_million: i64,
    /// Lambda on arm64, per million GB-seconds.
    pub lambda_arm_gb_seconds_per_million: i64,
    /// DynamoDB on-demand, per million read request units.
    pub dynamodb_reads_per_million: i64,
    /// DynamoDB on-demand, per million write request units.
    pub dynamodb_writes_per_million: i64,
    /// Cost Explorer, per API request.
    pub cost_explorer_request: i64,
    /// CloudWatch Logs, per GB ingested.
    pub logs_ingested_gb: i64,
    /// One standard-resolution CloudWatch alarm, per month.
    pub alarm_month: i64,
}

impl RunPrices {
    const KEYS: &'static [&'static str] = &[
        "lambda_requests_per_million",
        "lambda_x86_gb_seconds_per_million",
        "lambda_arm_gb_seconds_per_million",
        "dynamodb_reads_per_million",
        "dynamodb_writes_per_million",
        "cost_explorer_request",
        "logs_ingested_gb",
        "alarm_month",
    ];
}

/// Where one price comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum PriceSource {
    /// AWS's Price List, as asked on `fetched` (kept in the store for a week).
    PriceList {
        /// The day it was asked.
        fetched: NaiveDate,
    },
    /// lightsout's shipped table.
    Shipped {
        /// The day the figure was taken (Spot figures have their own).
        taken: String,
        /// Why AWS's Price List's was not used, when it was asked.
        #[serde(skip_serializing_if = "Option::is_none")]
        why: Option<String>,
        /// How the figure follows from the table, when it is not written there
        /// (`twice the Single-AZ price`).
        #[serde(skip_serializing_if = "Option::is_none")]
        derived: Option<String>,
    },
}

/// One unit price (per vCPU-hour, GB-hour or instance-hour) and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitPrice {
    /// USD per unit, exact.
    pub usd: Money,
    /// Where it comes from.
    pub source: PriceSource,
}

/// The prices of one task, on demand or on Fargate Spot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRate {
    /// Per vCPU-hour.
    pub vcpu_hour: UnitPrice,
    /// Per GB-hour.
    pub gb_hour: UnitPrice,
    /// The Windows licence per vCPU-hour, for a Windows task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence_vcpu_hour: Option<UnitPrice>,
    /// One task for an hour (rounded to the nano-dollar; the totals use the exact rate).
    pub task_hour: Money,
}

/// One database instance's price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceRate {
    /// Instance class.
    pub class: String,
    /// Per instance-hour (Multi-AZ: both the instance and its standby).
    pub instance_hour: UnitPrice,
}

/// What a resource's hourly price is made of: the rates and counts behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateBasis {
    /// A Fargate service.
    Fargate {
        /// Region.
        region: String,
        /// vCPU per task, exact (`0.25`).
        vcpu: String,
        /// Memory per task in GB, exact (`0.5`).
        memory_gb: String,
        /// `x86` or `arm`.
        arch: &'static str,
        /// The task definition's operating system family (`LINUX`, `WINDOWS_SERVER_2022_CORE`).
        os: TaskOs,
        /// Tasks on demand.
        tasks_on_demand: u32,
        /// Tasks on Fargate Spot.
        tasks_spot: u32,
        /// The on-demand prices (when tasks run, or may run, on demand).
        #[serde(skip_serializing_if = "Option::is_none")]
        on_demand: Option<Box<TaskRate>>,
        /// The Fargate Spot prices (when tasks run on Spot).
        #[serde(skip_serializing_if = "Option::is_none")]
        spot: Option<Box<TaskRate>>,
    },
    /// An RDS instance or an Aurora cluster's instances.
    Database {
        /// Region.
        region: String,
        /// Engine.
        engine: String,
        /// Multi-AZ (a non-Aurora instance with a standby).
        multi_az: bool,
        /// Each instance billed.
        instances: Vec<InstanceRate>,
    },
}

impl RateBasis {
    /// Every unit price it is made of.
    pub fn prices(&self) -> Vec<&UnitPrice> {
        match self {
            RateBasis::Fargate {
                on_demand, spot, ..
            } => [on_demand, spot]
                .into_iter()
                .flatten()
                .flat_map(|t| {
                    [
                        Some(&t.vcpu_hour),
                        Some(&t.gb_hour),
                        t.licence_vcpu_hour.as_ref(),
                    ]
                    .into_iter()
                    .flatten()
                })
                .collect(),
            RateBasis::Database { instances, .. } => {
                instances.iter().map(|i| &i.instance_hour).collect()
            }
        }
    }
}

/// A resource's exact hourly rate and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The hourly rate, exact.
    pub rate: Rate,
    /// The rates and counts behind it.
    pub basis: RateBasis,
}

/// The engine a database is priced as: RDS's names, with the older spellings folded in.
fn engine_key(engine: &str) -> &str {
    match engine {
        "aurora" => "aurora-mysql",
        "postgresql" => "postgres",
        e => e,
    }
}

/// `n`/1024 as an exact decimal: 256 → `0.25`, 3072 → `3`.
fn per_1024(n: u32) -> String {
    let int = n / 1024;
    let mut rest = n % 1024;
    if rest == 0 {
        return int.to_string();
    }
    let mut s = format!("{int}.");
    while rest != 0 {
        rest *= 10;
        s.push(char::from(b'0' + (rest / 1024) as u8));
        rest %= 1024;
    }
    s
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
        let taken = date(&string("taken")?, "taken")?;
        let source = string("source")?;
        for key in doc.keys() {
            if !["taken", "source", "fargate", "rds", "lightsout"].contains(&key.as_str()) {
                return Err(format!(
                    "unknown key `{key}` (expected taken, source, [fargate.REGION], [rds.REGION.ENGINE], [lightsout.REGION])"
                ));
            }
        }
        let mut fargate = BTreeMap::new();
        for (region, v) in table(doc.get("fargate"), "fargate")? {
            let at = format!("fargate.{region}");
            let regional = as_table(v, &at)?;
            check_keys(regional, &at, &["x86", "arm", "windows", "spot"])?;
            let x86 = fargate_price(required(regional, "x86", &at)?, &format!("{at}.x86"), &[])?;
            let arm = fargate_price(required(regional, "arm", &at)?, &format!("{at}.arm"), &[])?;
            let windows = match regional.get("windows") {
                None => None,
                Some(v) => {
                    let at = format!("{at}.windows");
                    let p = fargate_price(v, &at, &["licence_vcpu_hour"])?;
                    let t = as_table(v, &at)?;
                    let licence = price(
                        required(t, "licence_vcpu_hour", &at)?,
                        &format!("{at}.licence_vcpu_hour"),
                    )?;
                    Some((p, licence))
                }
            };
            let spot = match regional.get("spot") {
                None => None,
                Some(v) => {
                    let at = format!("{at}.spot");
                    let t = as_table(v, &at)?;
                    check_keys(t, &at, &["taken", "x86", "arm"])?;
                    let taken = match t.get("taken") {
                        Some(toml::Value::String(s)) => date(s, &format!("{at}.taken"))?,
                        _ => {
                            return Err(format!(
                                "`{at}.taken` must be the date the Spot prices were read, like \"2026-09-28\""
                            ));
                        }
                    };
                    let arch = |name: &str| -> Result<Option<FargatePrice>, String> {
                        t.get(name)
                            .map(|v| fargate_price(v, &format!("{at}.{name}"), &[]))
                            .transpose()
                    };
                    Some(SpotPrices {
                        taken,
                        x86: arch("x86")?,
                        arm: arch("arm")?,
                    })
                }
            };
            fargate.insert(
                region.clone(),
                RegionFargate {
                    x86,
                    arm,
                    windows,
                    spot,
                },
            );
        }
        let mut rds = BTreeMap::new();
        for (region, v) in table(doc.get("rds"), "rds")? {
            for (engine, v) in as_table(v, &format!("rds.{region}"))? {
                let at = format!("rds.{region}.{engine}");
                let mut classes = BTreeMap::new();
                for (class, v) in as_table(v, &at)? {
                    let at = format!("{at}.\"{class}\"");
                    let p = match v {
                        toml::Value::Table(t) => {
                            check_keys(t, &at, &["single_az", "multi_az"])?;
                            DbPrice {
                                single_az: price(
                                    required(t, "single_az", &at)?,
                                    &format!("{at}.single_az"),
                                )?,
                                multi_az: t
                                    .get("multi_az")
                                    .map(|v| price(v, &format!("{at}.multi_az")))
                                    .transpose()?,
                            }
                        }
                        v => DbPrice {
                            single_az: price(v, &at)?,
                            multi_az: None,
                        },
                    };
                    classes.insert(class.clone(), p);
                }
                rds.insert((region.clone(), engine.clone()), classes);
            }
        }
        let mut run = BTreeMap::new();
        if let Some(v) = doc.get("lightsout") {
            for (region, v) in as_table(v, "lightsout")? {
                let at = format!("lightsout.{region}");
                let t = as_table(v, &at)?;
                check_keys(t, &at, RunPrices::KEYS)?;
                let get = |key: &str| price(required(t, key, &at)?, &format!("{at}.{key}"));
                run.insert(
                    region.clone(),
                    RunPrices {
                        lambda_requests_per_million: get("lambda_requests_per_million")?,
                        lambda_x86_gb_seconds_per_million: get(
                            "lambda_x86_gb_seconds_per_million",
                        )?,
                        lambda_arm_gb_seconds_per_million: get(
                            "lambda_arm_gb_seconds_per_million",
                        )?,
                        dynamodb_reads_per_million: get("dynamodb_reads_per_million")?,
                        dynamodb_writes_per_million: get("dynamodb_writes_per_million")?,
                        cost_explorer_request: get("cost_explorer_request")?,
                        logs_ingested_gb: get("logs_ingested_gb")?,
                        alarm_month: get("alarm_month")?,
                    },
                );
            }
        }
        Ok(PriceTable {
            taken,
            source,
            fargate,
            rds,
            run,
            listed: BTreeMap::new(),
            unlisted: BTreeMap::new(),
            price_list_failed: None,
        })
    }

    /// What running lightsout costs in `region` (`[lightsout.REGION]` of the shipped table).
    pub fn run_prices(&self, region: &str) -> Result<RunPrices, String> {
        self.run.get(region).copied().ok_or_else(|| {
            format!(
                "no prices for running lightsout in {region} (add [lightsout.{region}] to {FILE})"
            )
        })
    }

    /// Adds the `[fargate.REGION]` and `[rds.REGION.ENGINE]` tables of a price fragment (no
    /// `taken` or `source` needed) to this table.
    pub fn merge(&mut self, fragment: &str) -> Result<(), String> {
        let head = format!("taken = \"{}\"\nsource = \"{}\"\n", self.taken, self.source);
        let more = PriceTable::parse(&format!("{head}{}", with_sections(fragment)))?;
        self.fargate.extend(more.fargate);
        self.rds.extend(more.rds);
        Ok(())
    }

    /// This table with AWS's Price List laid over it: `listed` prices (each with the day it was
    /// asked) replace the shipped ones; `unlisted` items keep the shipped price and say why the
    /// Price List gave none; `failed` says why the Price List could not be asked at all.
    pub fn with_price_list(
        &self,
        listed: impl IntoIterator<Item = (PriceItem, Money, NaiveDate)>,
        unlisted: impl IntoIterator<Item = (PriceItem, String)>,
        failed: Option<String>,
    ) -> PriceTable {
        let mut t = self.clone();
        for (item, price, fetched) in listed {
            t.unlisted.remove(&item);
            t.listed.insert(item, (price, fetched));
        }
        for (item, why) in unlisted {
            if !t.listed.contains_key(&item) {
                t.unlisted.insert(item, why);
            }
        }
        t.price_list_failed = failed;
        t
    }

    /// The date the shipped prices were taken, `2026-12-04`.
    pub fn taken(&self) -> &str {
        &self.taken
    }

    /// Where the shipped prices come from, in one line.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The prices a resource of this size is priced with, as AWS's Price List names them: what
    /// the digest asks the Price List for.
    pub fn items(size: &Size) -> Vec<PriceItem> {
        match size {
            Size::Unknown(_) => Vec::new(),
            Size::Fargate {
                region,
                arm,
                os,
                tasks,
                spot_tasks,
                ..
            } => {
                let platform = platform(*arm, os);
                let mut out = Vec::new();
                for spot in [false, true] {
                    if needed(spot, *tasks, *spot_tasks) {
                        out.push(PriceItem::FargateVcpu {
                            region: region.clone(),
                            platform,
                            spot,
                        });
                        out.push(PriceItem::FargateGb {
                            region: region.clone(),
                            platform,
                            spot,
                        });
                        if platform == Platform::Windows && !spot {
                            out.push(PriceItem::FargateWindowsLicence {
                                region: region.clone(),
                            });
                        }
                    }
                }
                out
            }
            Size::Database {
                region,
                classes,
                engine,
                multi_az,
            } => {
                let engine = engine_key(engine);
                let multi_az = *multi_az && !engine.starts_with("aurora");
                let mut out: Vec<PriceItem> = Vec::new();
                for class in classes {
                    let item = PriceItem::DbInstance {
                        region: region.clone(),
                        engine: engine.to_string(),
                        class: class.clone(),
                        multi_az,
                    };
                    if !out.contains(&item) {
                        out.push(item);
                    }
                }
                out
            }
        }
    }

    /// The price of one item: AWS's Price List's when it gave one, else the shipped table's;
    /// `Err` says why there is none and how to fix that.
    pub fn price(&self, item: &PriceItem) -> Result<UnitPrice, String> {
        if let Some((usd, fetched)) = self.listed.get(item) {
            return Ok(UnitPrice {
                usd: *usd,
                source: PriceSource::PriceList { fetched: *fetched },
            });
        }
        let why = self
            .unlisted
            .get(item)
            .cloned()
            .or_else(|| self.price_list_failed.clone());
        match self.shipped_price(item) {
            Ok((usd, taken, derived)) => Ok(UnitPrice {
                usd: Money(usd),
                source: PriceSource::Shipped {
                    taken,
                    why,
                    derived: derived.map(String::from),
                },
            }),
            Err(e) => Err(match why {
                Some(why) => format!("{e} (the AWS Price List: {why})"),
                None => e,
            }),
        }
    }

    /// An item's shipped price in nano-dollars, the day it was taken, and how it follows from
    /// the table when it is not written there.
    fn shipped_price(
        &self,
        item: &PriceItem,
    ) -> Result<(i64, String, Option<&'static str>), String> {
        let fix = format!("(taken {}); add it to {FILE}", self.taken);
        let taken = || self.taken.clone();
        let region_of = |region: &str| {
            self.fargate.get(region).ok_or_else(|| {
                format!("no Fargate price for region {region} in the price table {fix}")
            })
        };
        match item {
            PriceItem::FargateVcpu {
                region,
                platform,
                spot: false,
            }
            | PriceItem::FargateGb {
                region,
                platform,
                spot: false,
            } => {
                let r = region_of(region)?;
                let p = match platform {
                    Platform::LinuxX86 => r.x86,
                    Platform::LinuxArm => r.arm,
                    Platform::Windows => r.windows.map(|(p, _)| p).ok_or_else(|| {
                        format!(
                            "no Fargate Windows price for region {region} in the price table {fix}"
                        )
                    })?,
                };
                let nanos = if matches!(item, PriceItem::FargateVcpu { .. }) {
                    p.vcpu_hour
                } else {
                    p.gb_hour
                };
                Ok((nanos, taken(), None))
            }
            PriceItem::FargateVcpu {
                region,
                platform,
                spot: true,
            }
            | PriceItem::FargateGb {
                region,
                platform,
                spot: true,
            } => {
                let r = region_of(region)?;
                let missing = || {
                    format!(
                        "no Fargate Spot {platform} price for region {region} in the price table {fix}"
                    )
                };
                let spot = r.spot.as_ref().ok_or_else(missing)?;
                let p = match platform {
                    Platform::LinuxX86 => spot.x86,
                    Platform::LinuxArm => spot.arm,
                    Platform::Windows => {
                        return Err("Fargate Spot does not run Windows tasks".into());
                    }
                }
                .ok_or_else(missing)?;
                let nanos = if matches!(item, PriceItem::FargateVcpu { .. }) {
                    p.vcpu_hour
                } else {
                    p.gb_hour
                };
                Ok((nanos, spot.taken.clone(), None))
            }
            PriceItem::FargateWindowsLicence { region } => {
                let r = region_of(region)?;
                let (_, licence) = r.windows.ok_or_else(|| {
                    format!("no Fargate Windows price for region {region} in the price table {fix}")
                })?;
                Ok((licence, taken(), None))
            }
            PriceItem::DbInstance {
                region,
                engine,
                class,
                multi_az,
            } => {
                let prices = self
                    .rds
                    .get(&(region.clone(), engine.clone()))
                    .ok_or_else(|| {
                        format!("no RDS price for engine {engine} in region {region} in the price table {fix}")
                    })?;
                let p = prices.get(class).ok_or_else(|| {
                    format!("no RDS price for {class} ({engine}) in region {region} in the price table {fix}")
                })?;
                Ok(match (multi_az, p.multi_az) {
                    (false, _) => (p.single_az, taken(), None),
                    (true, Some(m)) => (m, taken(), None),
                    (true, None) => (p.single_az * 2, taken(), Some("twice the Single-AZ price")),
                })
            }
        }
    }

    /// What an hour of a resource of this size costs, to the nano-dollar.
    pub fn hourly(&self, size: &Size) -> Result<Money, String> {
        self.rate(size).map(Rate::hourly)
    }

    /// What an hour of a resource of this size costs, exactly; `Err` says why it cannot be
    /// priced and how to fix that.
    pub fn rate(&self, size: &Size) -> Result<Rate, String> {
        self.quote(size).map(|q| q.rate)
    }

    /// What an hour of a resource of this size costs, exactly, and the rates and counts behind
    /// it; `Err` says why it cannot be priced and how to fix that.
    pub fn quote(&self, size: &Size) -> Result<Quote, String> {
        match size {
            Size::Unknown(why) => Err(why.clone()),
            Size::Fargate {
                region,
                cpu_units,
                memory_mib,
                arm,
                os,
                tasks,
                spot_tasks,
            } => {
                let platform = platform(*arm, os);
                if platform == Platform::Windows && *spot_tasks > 0 {
                    return Err("Fargate Spot does not run Windows tasks, yet its capacity provider strategy places some there".into());
                }
                let spot_tasks = (*spot_tasks).min(*tasks);
                let on_demand_tasks = tasks - spot_tasks;
                let task = |spot: bool| -> Result<(TaskRate, Rate), String> {
                    let vcpu = self.price(&PriceItem::FargateVcpu {
                        region: region.clone(),
                        platform,
                        spot,
                    })?;
                    let gb = self.price(&PriceItem::FargateGb {
                        region: region.clone(),
                        platform,
                        spot,
                    })?;
                    let licence = if platform == Platform::Windows {
                        Some(self.price(&PriceItem::FargateWindowsLicence {
                            region: region.clone(),
                        })?)
                    } else {
                        None
                    };
                    let cpu = i128::from(*cpu_units);
                    let rate = Rate(
                        cpu * i128::from(vcpu.usd.0)
                            + i128::from(*memory_mib) * i128::from(gb.usd.0)
                            + licence.as_ref().map_or(0, |l| cpu * i128::from(l.usd.0)),
                    );
                    Ok((
                        TaskRate {
                            vcpu_hour: vcpu,
                            gb_hour: gb,
                            licence_vcpu_hour: licence,
                            task_hour: rate.hourly(),
                        },
                        rate,
                    ))
                };
                let on_demand = needed(false, *tasks, spot_tasks)
                    .then(|| task(false))
                    .transpose()?;
                let spot = needed(true, *tasks, spot_tasks)
                    .then(|| task(true))
                    .transpose()?;
                let rate = Rate(
                    on_demand
                        .as_ref()
                        .map_or(0, |(_, r)| r.0 * i128::from(on_demand_tasks))
                        + spot
                            .as_ref()
                            .map_or(0, |(_, r)| r.0 * i128::from(spot_tasks)),
                );
                Ok(Quote {
                    rate,
                    basis: RateBasis::Fargate {
                        region: region.clone(),
                        vcpu: per_1024(*cpu_units),
                        memory_gb: per_1024(*memory_mib),
                        arch: if *arm { "arm" } else { "x86" },
                        os: os.clone(),
                        tasks_on_demand: on_demand_tasks,
                        tasks_spot: spot_tasks,
                        on_demand: on_demand.map(|(t, _)| Box::new(t)),
                        spot: spot.map(|(t, _)| Box::new(t)),
                    },
                })
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
                let key = engine_key(engine);
                let multi_az = *multi_az && !key.starts_with("aurora");
                let mut total = Rate::ZERO;
                let mut instances = Vec::new();
                for class in classes {
                    let p = self.price(&PriceItem::DbInstance {
                        region: region.clone(),
                        engine: key.to_string(),
                        class: class.clone(),
                        multi_az,
                    })?;
                    total = total + Rate(i128::from(p.usd.0) * 1024);
                    instances.push(InstanceRate {
                        class: class.clone(),
                        instance_hour: p,
                    });
                }
                Ok(Quote {
                    rate: total,
                    basis: RateBasis::Database {
                        region: region.clone(),
                        engine: key.to_string(),
                        multi_az,
                        instances,
                    },
                })
            }
        }
    }

    /// Where the prices behind `bases` come from, in one line for the method: the AWS Price
    /// List (and when it was asked), lightsout's shipped table (and when it was taken), and —
    /// when a shipped price stands in for AWS's — why.
    pub fn sources<'a>(&self, bases: impl IntoIterator<Item = &'a RateBasis>) -> String {
        let mut fetched: BTreeSet<NaiveDate> = BTreeSet::new();
        let mut taken: BTreeSet<String> = BTreeSet::new();
        let mut why: Vec<String> = Vec::new();
        let (mut from_aws, mut shipped) = (0usize, 0usize);
        for p in bases.into_iter().flat_map(RateBasis::prices) {
            match &p.source {
                PriceSource::PriceList { fetched: f } => {
                    from_aws += 1;
                    fetched.insert(*f);
                }
                PriceSource::Shipped {
                    taken: t, why: w, ..
                } => {
                    shipped += 1;
                    taken.insert(t.clone());
                    if let Some(w) = w
                        && !why.contains(w)
                    {
                        why.push(w.clone());
                    }
                }
            }
        }
        let dates = |d: Vec<String>| d.join(", ");
        let aws = format!(
            "the AWS Price List (asked {})",
            dates(fetched.iter().map(|d| d.to_string()).collect())
        );
        let table = format!(
            "lightsout's shipped table (taken {})",
            dates(taken.iter().rev().cloned().collect())
        );
        let because = if why.is_empty() {
            String::new()
        } else {
            format!(" — {}", why.join("; "))
        };
        match (from_aws, shipped) {
            (0, 0) => format!("prices from {table}"),
            (_, 0) => format!("prices from {aws}"),
            (0, _) => format!("prices from {table}{because}"),
            (a, s) => format!(
                "prices from {aws} ({a} of {}), and from {table} for the other {s}{because}",
                a + s
            ),
        }
    }
}

/// The platform Fargate prices a task as.
fn platform(arm: bool, os: &TaskOs) -> Platform {
    match (os, arm) {
        (TaskOs::Windows(_), _) => Platform::Windows,
        (TaskOs::Linux, true) => Platform::LinuxArm,
        (TaskOs::Linux, false) => Platform::LinuxX86,
    }
}

/// Whether the on-demand (`spot` false) or Spot prices are needed for `tasks` of which
/// `spot_tasks` run on Spot. A service with no task count known (asleep, nothing to wake to) is
/// priced on demand, at zero tasks: its prices are still shown.
fn needed(spot: bool, tasks: u32, spot_tasks: u32) -> bool {
    if spot {
        spot_tasks > 0
    } else {
        tasks > spot_tasks || tasks == 0
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

fn date(text: &str, at: &str) -> Result<String, String> {
    if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() {
        return Err(format!(
            "`{at}` must be a date like \"2026-11-01\", found \"{text}\""
        ));
    }
    Ok(text.to_string())
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

fn required<'t>(t: &'t toml::Table, key: &str, at: &str) -> Result<&'t toml::Value, String> {
    t.get(key).ok_or_else(|| format!("`{at}.{key}` is missing"))
}

fn check_keys(t: &toml::Table, at: &str, allowed: &[&str]) -> Result<(), String> {
    match t.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown key `{at}.{k}` (expected {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

/// `{ vcpu_hour = .., gb_hour = .. }` (and the `extra` keys the caller reads).
fn fargate_price(v: &toml::Value, at: &str, extra: &[&str]) -> Result<FargatePrice, String> {
    let t = as_table(v, at)?;
    let mut allowed = vec!["vcpu_hour", "gb_hour"];
    allowed.extend_from_slice(extra);
    check_keys(t, at, &allowed)?;
    let p = |k: &str| price(required(t, k, at)?, &format!("{at}.{k}"));
    Ok(FargatePrice {
        vcpu_hour: p("vcpu_hour")?,
        gb_hour: p("gb_hour")?,
    })
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
        task(region, cpu, mem, arm, TaskOs::Linux, tasks, 0)
    }

    fn task(
        region: &str,
        cpu: u32,
        mem: u32,
        arm: bool,
        os: TaskOs,
        tasks: u32,
        spot_tasks: u32,
    ) -> Size {
        Size::Fargate {
            region: region.into(),
            cpu_units: cpu,
            memory_mib: mem,
            arm,
            os,
            tasks,
            spot_tasks,
        }
    }

    fn windows() -> TaskOs {
        TaskOs::Windows("WINDOWS_SERVER_2022_CORE".into())
    }

    fn db(region: &str, classes: &[&str], engine: &str, multi_az: bool) -> Size {
        Size::Database {
            region: region.into(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
            engine: engine.into(),
            multi_az,
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn shipped_table_parses_and_covers_the_promised_regions() {
        let t = PriceTable::shipped();
        assert_eq!(t.taken(), "2026-12-04");
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
            // Every region has a dated Spot price for x86 tasks.
            assert!(
                t.hourly(&task(region, 1024, 2048, false, TaskOs::Linux, 2, 2))
                    .is_ok(),
                "{region} Spot"
            );
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

    /// A Windows task pays Windows rates and the licence per vCPU: 1 vCPU + 2 GB in us-east-1
    /// = 0.09148 + 0.046 + 2 × 0.01005 = $0.15758 an hour (Linux x86: $0.04937), as AWS's
    /// Fargate pricing page lists them.
    #[test]
    fn a_windows_task_pays_its_rates_and_the_licence_per_vcpu() {
        let t = PriceTable::shipped();
        let q = t
            .quote(&task("us-east-1", 1024, 2048, false, windows(), 1, 0))
            .unwrap();
        assert_eq!(q.rate.hourly(), Money(157_580_000));
        assert_eq!(
            t.hourly(&fargate("us-east-1", 1024, 2048, false, 1)),
            Ok(Money(49_370_000))
        );
        // 2 vCPU + 4 GB, 3 tasks: 3 × (2 × (0.09148 + 0.046) + 4 × 0.01005) = 3 × 0.31516
        // = $0.94548.
        assert_eq!(
            t.hourly(&task("us-east-1", 2048, 4096, false, windows(), 3, 0)),
            Ok(Money(945_480_000))
        );
        let RateBasis::Fargate { on_demand, os, .. } = q.basis else {
            panic!("{:?}", q.basis)
        };
        assert_eq!(os.family(), "WINDOWS_SERVER_2022_CORE");
        let od = on_demand.unwrap();
        assert_eq!(od.licence_vcpu_hour.map(|l| l.usd), Some(Money(46_000_000)));
        assert_eq!(od.vcpu_hour.usd, Money(91_480_000));
        assert_eq!(od.gb_hour.usd, Money(10_050_000));
        // No Windows figure shipped for Sydney: the task is unpriced unless the Price List answers.
        let e = t
            .hourly(&task("ap-southeast-2", 1024, 2048, false, windows(), 1, 0))
            .unwrap_err();
        assert!(
            e.contains("no Fargate Windows price for region ap-southeast-2"),
            "{e}"
        );
        // Fargate Spot runs no Windows tasks.
        assert!(
            t.hourly(&task("us-east-1", 1024, 2048, false, windows(), 2, 1))
                .unwrap_err()
                .contains("Spot does not run Windows")
        );
    }

    /// The shipped figures keep the proportions AWS publishes, in every region: Fargate Spot
    /// "up to 70%" off on demand (between 60% and 70% here), Graviton about 20% off x86 (18% to
    /// 22%). A mistyped figure breaks one of these. us-east-1, 1 vCPU + 2 GB: on demand
    /// $0.04937, Spot $0.01571925 (68.2% off), ARM $0.0395 (20.0% off).
    #[test]
    fn spot_and_arm_discounts_are_as_aws_publishes_them() {
        let t = PriceTable::shipped();
        let off = |cheap: Money, full: Money| 1.0 - cheap.0 as f64 / full.0 as f64;
        for region in t.fargate.keys() {
            let hourly = |arm, spot| {
                t.hourly(&task(region, 1024, 2048, arm, TaskOs::Linux, 1, spot))
                    .unwrap()
            };
            let spot = off(hourly(false, 1), hourly(false, 0));
            assert!((0.60..=0.70).contains(&spot), "{region} Spot {spot}");
            let arm = off(hourly(true, 0), hourly(false, 0));
            assert!((0.18..=0.22).contains(&arm), "{region} ARM {arm}");
        }
        assert_eq!(
            t.hourly(&fargate("us-east-1", 1024, 2048, true, 1)),
            Ok(Money(39_500_000))
        );
    }

    /// Tasks on Fargate Spot are priced at the Spot rates, the rest on demand, to the
    /// nano-dollar: us-east-1 on 2026-09-28, 1 vCPU + 2 GB on Spot = 0.01288871 + 2 × 0.00141527
    /// = $0.01571925 (on demand $0.04937).
    #[test]
    fn spot_tasks_at_spot_rates_the_rest_on_demand() {
        let t = PriceTable::shipped();
        assert_eq!(
            t.hourly(&task("us-east-1", 1024, 2048, false, TaskOs::Linux, 1, 1)),
            Ok(Money(15_719_250))
        );
        // 1 on demand + 3 on Spot = 0.04937 + 3 × 0.01571925 = $0.09652775.
        let q = t
            .quote(&task("us-east-1", 1024, 2048, false, TaskOs::Linux, 4, 3))
            .unwrap();
        assert_eq!(q.rate.hourly(), Money(96_527_750));
        let RateBasis::Fargate {
            tasks_on_demand,
            tasks_spot,
            on_demand,
            spot,
            ..
        } = &q.basis
        else {
            panic!()
        };
        assert_eq!((*tasks_on_demand, *tasks_spot), (1, 3));
        assert_eq!(on_demand.as_ref().unwrap().task_hour, Money(49_370_000));
        let spot = spot.as_ref().unwrap();
        assert_eq!(spot.task_hour, Money(15_719_250));
        assert_eq!(
            spot.vcpu_hour.source,
            PriceSource::Shipped {
                taken: "2026-09-28".into(),
                why: None,
                derived: None
            }
        );
        // ARM on Spot, eu-west-1: 0.5 × 0.00979124 + 1 × 0.00107649 = $0.00597211, × 2.
        assert_eq!(
            t.hourly(&task("eu-west-1", 512, 1024, true, TaskOs::Linux, 2, 2)),
            Ok(Money(11_944_220))
        );
        // No ARM Spot figure for Sydney: said, with how to fix it.
        let e = t
            .hourly(&task(
                "ap-southeast-2",
                512,
                1024,
                true,
                TaskOs::Linux,
                2,
                1,
            ))
            .unwrap_err();
        assert!(
            e.contains("no Fargate Spot Linux/ARM price for region ap-southeast-2"),
            "{e}"
        );
        // All on Spot: the on-demand prices are not needed (nor asked for).
        let all = task("ap-southeast-2", 1024, 2048, false, TaskOs::Linux, 2, 2);
        assert!(PriceTable::items(&all).iter().all(|i| matches!(
            i,
            PriceItem::FargateVcpu { spot: true, .. } | PriceItem::FargateGb { spot: true, .. }
        )));
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
        // The six RDS MySQL figures of us-east-1 as AWS publishes them (they were 1-2% low).
        for (class, micros) in [
            ("db.m6g.large", 154_000),
            ("db.m6g.xlarge", 308_000),
            ("db.m7g.large", 162_000),
            ("db.m7g.xlarge", 324_000),
            ("db.r6g.large", 218_000),
            ("db.r6g.xlarge", 435_000),
        ] {
            assert_eq!(
                t.hourly(&db("us-east-1", &[class], "mysql", false)),
                Ok(Money::from_micros(micros)),
                "{class}"
            );
        }
        let aurora = t.hourly(&db(
            "us-east-1",
            &["db.t4g.medium", "db.t4g.medium"],
            "aurora-postgresql",
            true,
        ));
        assert_eq!(aurora, Ok(Money::from_micros(146_000)));
        let q = t
            .quote(&db("us-east-1", &["db.t4g.micro"], "postgres", true))
            .unwrap();
        let RateBasis::Database { instances, .. } = q.basis else {
            panic!()
        };
        assert!(matches!(
            &instances[0].instance_hour.source,
            PriceSource::Shipped { derived: Some(d), .. } if d == "twice the Single-AZ price"
        ));
    }

    #[test]
    fn unknown_region_class_engine_and_size_say_why_and_how_to_fix() {
        let t = PriceTable::shipped();
        assert_eq!(
            t.hourly(&fargate("xx-nowhere-1", 256, 512, false, 1)),
            Err("no Fargate price for region xx-nowhere-1 in the price table (taken 2026-12-04); add it to src/digest/prices.toml".to_string())
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

    /// The Price List's prices replace the shipped ones and say so; the items it did not give
    /// keep the shipped price and say why; neither: the error says both.
    #[test]
    fn price_list_prices_overlay_the_shipped_ones_with_their_source() {
        let shipped = PriceTable::shipped();
        let vcpu = PriceItem::FargateVcpu {
            region: "us-east-1".into(),
            platform: Platform::LinuxX86,
            spot: false,
        };
        let gb = PriceItem::FargateGb {
            region: "us-east-1".into(),
            platform: Platform::LinuxX86,
            spot: false,
        };
        let t = shipped.with_price_list(
            [(vcpu.clone(), Money(50_000_000), day("2026-12-01"))],
            [(
                gb.clone(),
                "the Price List has no product for it".to_string(),
            )],
            None,
        );
        // 1 vCPU at the Price List's $0.05 + 2 GB at the shipped $0.004445 = $0.05889.
        let q = t
            .quote(&fargate("us-east-1", 1024, 2048, false, 1))
            .unwrap();
        assert_eq!(q.rate.hourly(), Money(58_890_000));
        let prices = q.basis.prices();
        assert_eq!(
            prices[0].source,
            PriceSource::PriceList {
                fetched: day("2026-12-01")
            }
        );
        assert_eq!(
            prices[1].source,
            PriceSource::Shipped {
                taken: "2026-12-04".into(),
                why: Some("the Price List has no product for it".into()),
                derived: None
            }
        );
        let line = t.sources([&q.basis]);
        assert_eq!(
            line,
            "prices from the AWS Price List (asked 2026-12-01) (1 of 2), and from lightsout's shipped table (taken 2026-12-04) for the other 1 — the Price List has no product for it"
        );
        // The shipped table alone says so; the Price List down: the shipped table, and why.
        assert_eq!(
            shipped.sources([&shipped
                .quote(&fargate("us-east-1", 256, 512, false, 1))
                .unwrap()
                .basis]),
            "prices from lightsout's shipped table (taken 2026-12-04)"
        );
        let down = shipped.with_price_list([], [], Some("GetProducts failed: HTTP 503".into()));
        let q = down
            .quote(&fargate("us-east-1", 256, 512, false, 1))
            .unwrap();
        assert_eq!(
            q.rate,
            shipped
                .rate(&fargate("us-east-1", 256, 512, false, 1))
                .unwrap()
        );
        assert_eq!(
            down.sources([&q.basis]),
            "prices from lightsout's shipped table (taken 2026-12-04) — GetProducts failed: HTTP 503"
        );
        // A price the Price List gives where the table has none prices the resource; without it,
        // the error gives both reasons.
        let class = PriceItem::DbInstance {
            region: "eu-west-1".into(),
            engine: "postgres".into(),
            class: "db.x9.huge".into(),
            multi_az: false,
        };
        let size = db("eu-west-1", &["db.x9.huge"], "postgres", false);
        let listed = shipped.with_price_list(
            [(class.clone(), Money(3_000_000_000), day("2026-12-01"))],
            [],
            None,
        );
        assert_eq!(listed.hourly(&size), Ok(Money::from_cents(300)));
        let e = shipped
            .with_price_list([], [(class, "the Price List has no product".into())], None)
            .hourly(&size)
            .unwrap_err();
        assert!(
            e.contains("no RDS price for db.x9.huge")
                && e.contains("the AWS Price List: the Price List has no product"),
            "{e}"
        );
    }

    /// `items` names exactly the prices `quote` uses: a table with only those (from the Price
    /// List) prices the resource, and without any one of them it cannot.
    #[test]
    fn items_are_exactly_what_a_quote_needs() {
        let empty =
            PriceTable::parse("taken = \"2026-12-04\"\nsource = \"test\"\n[fargate]\n[rds]\n")
                .unwrap();
        let sizes = [
            fargate("ap-southeast-2", 512, 1024, false, 2),
            fargate("ap-southeast-2", 512, 1024, true, 0),
            task("ap-southeast-2", 1024, 2048, false, windows(), 2, 0),
            task("ap-southeast-2", 1024, 2048, false, TaskOs::Linux, 3, 1),
            task("ap-southeast-2", 1024, 2048, true, TaskOs::Linux, 2, 2),
            db("ap-southeast-2", &["db.t4g.micro"], "postgres", true),
            db(
                "ap-southeast-2",
                &["db.r6g.large", "db.r6g.large"],
                "aurora-postgresql",
                true,
            ),
        ];
        for size in &sizes {
            let items = PriceTable::items(size);
            assert!(!items.is_empty());
            let all = empty.with_price_list(
                items
                    .iter()
                    .map(|i| (i.clone(), Money(1_000_000), day("2026-12-01"))),
                [],
                None,
            );
            assert!(all.quote(size).is_ok(), "{size:?}: {:?}", all.quote(size));
            for left_out in &items {
                let some = empty.with_price_list(
                    items
                        .iter()
                        .filter(|i| *i != left_out)
                        .map(|i| (i.clone(), Money(1_000_000), day("2026-12-01"))),
                    [],
                    None,
                );
                assert!(some.quote(size).is_err(), "{size:?} without {left_out}");
            }
        }
        // Aurora has no Multi-AZ product: its instances are asked for as they are.
        assert!(matches!(
            &PriceTable::items(&sizes[6])[..],
            [PriceItem::DbInstance {
                multi_az: false,
                ..
            }]
        ));
    }

    #[test]
    fn task_sizes_as_exact_decimals() {
        assert_eq!(per_1024(256), "0.25");
        assert_eq!(per_1024(512), "0.5");
        assert_eq!(per_1024(1024), "1");
        assert_eq!(per_1024(3072), "3");
        assert_eq!(per_1024(1536), "1.5");
        assert_eq!(per_1024(1), "0.0009765625");
    }

    #[test]
    fn parse_errors_name_the_bad_entry() {
        let head = "taken = \"2026-11-01\"\nsource = \"test\"\n";
        let ok = format!(
            "{head}[fargate.r1]\nx86 = {{ vcpu_hour = 0.1, gb_hour = \"0.01\" }}\narm = {{ vcpu_hour = 0.08, gb_hour = 0.008 }}\nspot = {{ taken = \"2026-09-28\", x86 = {{ vcpu_hour = 0.03, gb_hour = 0.003 }} }}\n[rds.r1.postgres]\n\"db.t3.micro\" = 0.02\n\"db.t3.small\" = {{ single_az = 0.04, multi_az = 0.081 }}\n"
        );
        let t = PriceTable::parse(&ok).unwrap();
        assert_eq!(
            t.hourly(&fargate("r1", 1024, 1024, false, 1)),
            Ok(Money::from_micros(110_000))
        );
        assert_eq!(
            t.hourly(&task("r1", 1024, 1024, false, TaskOs::Linux, 1, 1)),
            Ok(Money::from_micros(33_000))
        );
        assert_eq!(
            t.hourly(&db("r1", &["db.t3.small"], "postgres", true)),
            Ok(Money::from_micros(81_000))
        );
        let e = PriceTable::parse(&ok.replace("0.02\n", "\"cheap\"\n")).unwrap_err();
        assert!(
            e.contains("rds.r1.postgres.\"db.t3.micro\"") && e.contains("cheap"),
            "{e}"
        );
        let e = PriceTable::parse(&ok.replace("gb_hour = 0.008", "gb = 0.008")).unwrap_err();
        assert!(e.contains("fargate.r1.arm.gb"), "{e}");
        let e = PriceTable::parse(&ok.replace("0.08", "-0.08")).unwrap_err();
        assert!(e.contains("fargate.r1.arm.vcpu_hour"), "{e}");
        let e = PriceTable::parse(&ok.replace("2026-11-01", "November")).unwrap_err();
        assert!(e.contains("`taken`"), "{e}");
        let e = PriceTable::parse(&ok.replace("taken = \"2026-09-28\", ", "")).unwrap_err();
        assert!(e.contains("fargate.r1.spot.taken"), "{e}");
        let e = PriceTable::parse(&ok.replace("multi_az = 0.081", "multiaz = 0.081")).unwrap_err();
        assert!(e.contains("multiaz"), "{e}");
        assert!(
            PriceTable::parse("taken = ")
                .unwrap_err()
                .contains("not TOML")
        );
    }
}
