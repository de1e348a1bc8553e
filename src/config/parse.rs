//! Walks one schedule file's TOML tree, with spans, into an [`Environment`], reporting every
//! problem instead of stopping at the first.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;
use toml::de::{DeTable, DeValue};

use super::parse_ics;
use crate::diag::{Diagnostic, Reporter, suggest};
use crate::diag::{Reader, Val, lookup};
use crate::kinds::{Guard, ProductionTag, Tables};
use crate::model::{Environment, WeekMinutes, Window, parse_duration, week_minute_label};

/// An environment and where its parts were written, for checks across files.
pub(crate) struct Parsed {
    /// The account and region its resources live in (`role|region`): the same names in another
    /// account or region are other resources.
    pub(crate) scope: String,
    /// The environment, when the file had no problems of its own.
    pub(crate) env: Option<Environment>,
    /// Its name, even when the file had problems.
    pub(crate) name: String,
    /// Where its parts were written.
    pub(crate) spans: EnvSpans,
}

/// Where the parts of an environment were written.
pub(crate) struct EnvSpans {
    /// The `name` value (or the file's start when the name comes from the file name).
    pub(crate) name: Range<usize>,
    /// Resources named one by one, as `ecs:cluster/service`, `rds:id`, `aurora:id`.
    pub(crate) resources: Vec<(String, Range<usize>)>,
    /// Tag selectors, in a canonical text form.
    pub(crate) selectors: Vec<(String, Range<usize>)>,
}

const TOP_KEYS: &[&str] = &[
    "name",
    "region",
    "role_arn",
    "external_id",
    "timezone",
    "awake",
    "holidays",
    "holiday_calendar",
    "max_wake",
    "heads_up",
    "monthly_budget",
    "concurrency",
    "guard",
    "digest",
    "idle_wake",
    "idle_sleep",
    "idle_min_awake",
    "mute_alarms",
    "events",
];
const GUARD_KEYS: &[&str] = &["production_tags", "require_tags"];

/// The longest `max_wake` we accept.
const MAX_WAKE_LIMIT: TimeDelta = TimeDelta::days(7);

/// Parses one schedule file. Problems go to `out`; the environment is `None` when there were
/// any, but its name and spans are kept for the checks across files. `None` when the file is not
/// even TOML.
pub(crate) fn parse_environment(
    file: &Path,
    src: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Parsed> {
    let before = out.len();
    let mut r = Reporter::new(file, src, out);
    let (root, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            r.error(
                span,
                format!("invalid TOML: {}", e.message().trim()),
                Some("see https://toml.io for the syntax".into()),
            );
        }
        return None;
    }
    let root = root.get_ref();
    let mut w = Reader::new(&mut r);
    let mut parsed = w.environment(root);
    if out.len() > before {
        parsed.env = None;
    }
    Some(parsed)
}

impl Reader<'_, '_> {
    fn environment(&mut self, root: &DeTable<'_>) -> Parsed {
        let top: Vec<&str> = TOP_KEYS.iter().chain(&Tables::KEYS).copied().collect();
        self.check_keys(root, &top, "the environment");
        let get = |k: &str| lookup(root, k);
        let file = self.r.file().to_path_buf();
        let start = 0..0;

        let (name, name_span) = match get("name") {
            Some(v) => {
                // A name that is not a string is reported once, by `string`.
                if let Some(s) = self.string(v, "name").filter(|s| !usable_name(s)) {
                    self.err(
                        v.span(),
                        format!("environment name \"{s}\" is not usable"),
                        Some("use letters, digits, - and _, like \"staging\"".to_string()),
                    );
                }
                let s = self.string_quiet(v).unwrap_or_default().to_string();
                (s, v.span())
            }
            None => {
                let stem = file
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                if !usable_name(&stem) {
                    self.err(
                        start.clone(),
                        format!("the file name \"{stem}\" is not a usable environment name"),
                        Some("add name = \"staging\" (letters, digits, - and _)".to_string()),
                    );
                }
                (stem, start.clone())
            }
        };

        let region = match get("region") {
            Some(v) => self.string(v, "region").and_then(|s| {
                if is_region(s) {
                    Some(s.to_string())
                } else {
                    self.err(
                        v.span(),
                        format!("\"{s}\" is not an AWS region"),
                        Some(
                            "write a region code, like \"eu-west-1\" or \"us-east-1\"".to_string(),
                        ),
                    );
                    None
                }
            }),
            None => {
                self.err(
                    start.clone(),
                    "missing `region`",
                    Some(
                        "add region = \"eu-west-1\" (the AWS region of the resources)".to_string(),
                    ),
                );
                None
            }
        };

        let role_arn = get("role_arn").and_then(|v| {
            let s = self.string(v, "role_arn")?;
            if is_role_arn(s) {
                Some(s.to_string())
            } else {
                self.err(
                    v.span(),
                    format!("\"{s}\" is not an IAM role ARN"),
                    Some("write it like \"arn:aws:iam::123456789012:role/lightsout\"".to_string()),
                );
                None
            }
        });
        let external_id =
            get("external_id").and_then(|v| self.string(v, "external_id").map(String::from));
        if external_id.is_some()
            && get("role_arn").is_none()
            && let Some(v) = get("external_id")
        {
            self.err(
                v.span(),
                "`external_id` without `role_arn`",
                Some("an external ID goes with the role it is for: add role_arn".to_string()),
            );
        }

        let timezone = match get("timezone") {
            Some(v) => self
                .string(v, "timezone")
                .and_then(|s| self.timezone(s, v.span())),
            None => {
                self.err(
                    start.clone(),
                    "missing `timezone`",
                    Some(
                        "add timezone = \"Europe/Berlin\" (an IANA time zone the windows are in)"
                            .to_string(),
                    ),
                );
                None
            }
        };

        let windows = match get("awake") {
            Some(v) => self.windows(v),
            None => {
                self.err(start.clone(), "missing `awake`", Some("add awake = [\"Mon-Fri 07:00-20:00\"] (or awake = [] to wake only on request)".to_string()));
                Vec::new()
            }
        };

        let mut holidays = match get("holidays") {
            Some(v) => self.holidays(v),
            None => Vec::new(),
        };
        if let Some(v) = get("holiday_calendar")
            && let Some(path) = self.string(v, "holiday_calendar")
        {
            holidays.extend(self.calendar(path, v.span()));
        }

        let max_wake = match get("max_wake") {
            Some(v) => self
                .string(v, "max_wake")
                .and_then(|s| match parse_duration(s) {
                    Ok(d) if d <= MAX_WAKE_LIMIT => Some(d),
                    Ok(_) => {
                        self.err(
                            v.span(),
                            format!("max_wake \"{s}\" is longer than 7 days"),
                            Some("a wake is for hours; change the schedule for longer".to_string()),
                        );
                        None
                    }
                    Err(e) => {
                        self.err(v.span(), format!("max_wake: {e}"), None);
                        None
                    }
                }),
            None => Some(TimeDelta::hours(4)),
        };

        // A heads-up in Slack this long before a scheduled sleep (of an environment used in the
        // last hour); at most 12 hours, so it stays about the coming sleep.
        let heads_up = match get("heads_up") {
            Some(v) => self
                .string(v, "heads_up")
                .and_then(|s| match parse_duration(s) {
                    Ok(d) if d > TimeDelta::zero() && d <= TimeDelta::hours(12) => Some(Some(d)),
                    Ok(_) => {
                        self.err(
                            v.span(),
                            format!("heads_up \"{s}\" is not between 1 minute and 12 hours"),
                            Some("write heads_up = \"15m\" (how long before a scheduled sleep Slack is told)".to_string()),
                        );
                        None
                    }
                    Err(e) => {
                        self.err(v.span(), format!("heads_up: {e}"), None);
                        None
                    }
                }),
            None => Some(None),
        };

        let monthly_budget = get("monthly_budget").and_then(|v| {
            let n = match v.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                    .ok()
                    .map(|n| n as f64),
                DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if n.is_finite() && n > 0.0 => Some(n),
                _ => {
                    self.err(
                        v.span(),
                        "`monthly_budget` must be a positive number of US dollars",
                        Some("write monthly_budget = 750".to_string()),
                    );
                    None
                }
            }
        });

        let concurrency = match get("concurrency") {
            Some(v) => self.integer(v, "concurrency", 1..65).map(|n| n as usize),
            None => Some(8),
        };

        let kinds = Tables::parse(self, root);
        let guard = match get("guard") {
            Some(v) => self
                .table(v, "guard")
                .map(|t| self.guard(t))
                .unwrap_or_default(),
            None => Guard::default(),
        };
        let digest = match get("digest") {
            Some(v) => self
                .table(v, "digest")
                .map(|t| self.digest(t, &guard, &name))
                .unwrap_or_default(),
            None => self.digest(&DeTable::new(), &guard, &name),
        };
        let idle = self.idle(root, !kinds.alb.is_empty());
        let mute_alarms = self.mute_alarms(root);
        let events = match get("events") {
            Some(v) => self
                .table(v, "events")
                .map(|t| self.events(t))
                .unwrap_or_default(),
            None => crate::model::EventsConfig::default(),
        };
        if Tables::KEYS.iter().all(|k| get(k).is_none()) {
            self.err(
                start,
                "the environment selects no resources",
                Some("add an [ecs] or [rds] table naming its services and databases".to_string()),
            );
        }

        let spans = EnvSpans {
            name: name_span,
            resources: std::mem::take(&mut self.named),
            selectors: std::mem::take(&mut self.selectors),
        };
        let named_at: BTreeMap<String, (usize, usize)> = spans
            .resources
            .iter()
            .map(|(key, span)| (key.clone(), self.r.position(span.start)))
            .collect();
        let env = (|| {
            Some(Environment {
                name: name.clone(),
                source: file,
                named_at,
                region: region?,
                role_arn,
                external_id,
                timezone: timezone?,
                windows,
                holidays,
                max_wake: max_wake?,
                heads_up: heads_up?,
                monthly_budget,
                kinds,
                guard,
                concurrency: concurrency?,
                digest,
                idle,
                events,
                mute_alarms,
            })
        })();
        let scope = format!(
            "{}|{}",
            get("role_arn")
                .and_then(|v| self.string_quiet(v))
                .unwrap_or(""),
            get("region")
                .and_then(|v| self.string_quiet(v))
                .unwrap_or("")
        );
        Parsed {
            env,
            name,
            spans,
            scope,
        }
    }

    fn timezone(&mut self, s: &str, span: Range<usize>) -> Option<Tz> {
        if let Ok(tz) = s.parse::<Tz>() {
            return Some(tz);
        }
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        let help = match names
            .clone()
            .find(|n| n.eq_ignore_ascii_case(s))
            .or_else(|| suggest(s, names))
        {
            Some(n) => format!("did you mean \"{n}\"?"),
            None => "use an IANA time zone name, like \"Europe/Berlin\" or \"America/New_York\""
                .to_string(),
        };
        self.err(span, format!("unknown time zone \"{s}\""), help);
        None
    }

    fn windows(&mut self, v: &Val<'_>) -> Vec<Window> {
        // Each window with its minutes of the week, computed once, for the overlap check.
        let mut out: Vec<(Window, WeekMinutes)> = Vec::new();
        for (text, span) in self.strings(v, "awake") {
            match Window::parse(text) {
                Ok(w) => {
                    let minutes = w.week_minutes();
                    let clash = out.iter().find_map(|(other, other_minutes)| {
                        minutes
                            .first_common(other_minutes)
                            .map(|m| (other.text.clone(), m))
                    });
                    if let Some((other, minute)) = clash {
                        self.err(
                            span.clone(),
                            format!(
                                "window \"{}\" overlaps \"{other}\" (both cover {})",
                                w.text,
                                week_minute_label(minute)
                            ),
                            Some(
                                "make the windows meet without overlapping, or merge them into one"
                                    .to_string(),
                            ),
                        );
                    }
                    out.push((w, minutes));
                }
                Err(e) => {
                    let at = self.r.inner_span(span, text, e.span);
                    self.err(
                        at,
                        format!("{} in window \"{}\"", e.message, text.trim()),
                        e.help,
                    );
                }
            }
        }
        out.into_iter().map(|(w, _)| w).collect()
    }

    fn holidays(&mut self, v: &Val<'_>) -> Vec<(NaiveDate, NaiveDate)> {
        let Some(items) = self.array(v, "holidays") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::String(s) => {
                    let s = s.as_ref();
                    let parts: Vec<&str> = s.split("..").collect();
                    let dates: Vec<Option<NaiveDate>> = parts
                        .iter()
                        .map(|p| self.date(p.trim(), item.span()))
                        .collect();
                    match dates.as_slice() {
                        [Some(d)] => out.push((*d, *d)),
                        [Some(a), Some(b)] if a <= b => out.push((*a, *b)),
                        [Some(a), Some(b)] => self.err(
                            item.span(),
                            format!("holiday range \"{s}\" ends ({b}) before it starts ({a})"),
                            Some("write the earlier date first".to_string()),
                        ),
                        [_] | [_, _] => {}
                        _ => self.err(
                            item.span(),
                            format!("\"{s}\" is not a date or a date range"),
                            Some("write \"2026-12-25\" or \"2026-12-24..2026-12-26\"".to_string()),
                        ),
                    }
                }
                DeValue::Datetime(dt) => match (dt.date, dt.time) {
                    (Some(d), None) => {
                        if let Some(d) = self.date(&d.to_string(), item.span()) {
                            out.push((d, d));
                        }
                    }
                    _ => self.err(
                        item.span(),
                        "a holiday is a whole day, not a time",
                        Some("write just the date, like 2026-12-25".to_string()),
                    ),
                },
                other => self.err(
                    item.span(),
                    format!("a holiday must be a date, not {}", other.type_str()),
                    Some("write \"2026-12-25\" or \"2026-12-24..2026-12-26\"".to_string()),
                ),
            }
        }
        out
    }

    fn date(&mut self, s: &str, span: Range<usize>) -> Option<NaiveDate> {
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(d);
        }
        // Say why a well-formed date does not exist.
        let nums: Vec<u32> = s.split('-').filter_map(|p| p.parse().ok()).collect();
        let msg = match nums.as_slice() {
            [y, m, d] if s.len() == 10 && (1..=12).contains(m) => {
                let first = NaiveDate::from_ymd_opt(*y as i32, *m, 1);
                let days = first
                    .and_then(|f| f.checked_add_months(chrono::Months::new(1)))
                    .zip(first)
                    .map(|(next, f)| (next - f).num_days())
                    .unwrap_or(31);
                let month = first
                    .map(|f| f.format("%B %Y").to_string())
                    .unwrap_or_default();
                format!("{s} is not a date: {month} has {days} days (day {d})")
            }
            [_, m, _] if s.len() == 10 => format!("{s} is not a date: there is no month {m}"),
            _ => format!("\"{s}\" is not a date"),
        };
        self.err(
            span,
            msg,
            Some("write dates as YYYY-MM-DD, like 2026-12-25".to_string()),
        );
        None
    }

    /// The holidays of a `holiday_calendar`: a relative path inside the schedules directory, to
    /// a regular file read under [`super::files`]'s rules; its problems are reported with its
    /// lines but never its content.
    fn calendar(&mut self, path: &str, span: Range<usize>) -> Vec<(NaiveDate, NaiveDate)> {
        let base = self.r.file().parent().unwrap_or(Path::new("."));
        let relative = match super::files::relative_inside(path) {
            Ok(p) => p,
            Err(why) => {
                self.err(span, why, None);
                return Vec::new();
            }
        };
        let full = base.join(relative);
        let text = match super::files::read_text(&full, base) {
            Ok(t) => t,
            Err(e) if e.line > 0 => {
                self.r.out.push(Diagnostic {
                    file: full,
                    line: e.line,
                    column: e.column,
                    message: e.message,
                    help: None,
                });
                return Vec::new();
            }
            Err(e) => {
                self.err(
                    span,
                    format!("holiday calendar {path}: {}", e.message),
                    Some("the path is relative to this schedule file's directory".to_string()),
                );
                return Vec::new();
            }
        };
        match parse_ics(&text) {
            Ok(days) => days,
            Err(e) => {
                self.r.out.push(Diagnostic {
                    file: full,
                    line: e.line,
                    column: 1,
                    message: e.message,
                    help: None,
                });
                Vec::new()
            }
        }
    }

    fn guard(&mut self, t: &DeTable<'_>) -> Guard {
        self.check_keys(t, GUARD_KEYS, "[guard]");
        let mut guard = Guard::default();
        if let Some(v) = lookup(t, "production_tags") {
            let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, val) in self.tag_pairs(v, "production_tags") {
                extra.entry(k).or_default().push(val);
            }
            guard.production_tags.extend(
                extra
                    .into_iter()
                    .map(|(key, values)| ProductionTag { key, values }),
            );
        }
        if let Some(v) = lookup(t, "require_tags") {
            guard.require_tags = self.tag_pairs(v, "require_tags").into_iter().collect();
        }
        guard
    }
}

/// Whether `s` can name an environment (it appears in URLs and tags).
fn usable_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts[0].len() == 2
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit()))
}

fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), [arn, partition, "iam", "", account, resource]
        if *arn == "arn"
            && partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|r| !r.is_empty()))
}
