//! Local days and instants: what a wall-clock time, a day or a month means in an IANA zone.
//!
//! Pure. Exact across daylight-saving changes: a local time inside a spring-forward gap means
//! the first instant after the gap; a time that occurs twice in a fall-back hour means its first
//! occurrence; a local day is 23, 24 or 25 hours long.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Formats an instant in the environment's zone: `Mon 07:00 CET` within the coming week,
/// `2026-12-28 07:00 CET` beyond it.
pub fn local_label(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    if t >= now && t - now < TimeDelta::days(6) {
        local.format("%a %H:%M %Z").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M %Z").to_string()
    }
}

/// The zone's names by UTC offset over `[from, to)`: `{"+01:00": "CET", "+02:00": "CEST"}` —
/// so a client that knows an instant's offset shows the same abbreviation as the command line
/// and the digest (browsers name many zones only `GMT+11`). Sampled hourly: zones change
/// offset on the hour or half hour, and never twice within an hour.
pub fn zone_names(
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut t = from;
    while t < to {
        let local = t.with_timezone(&tz);
        out.entry(local.format("%:z").to_string())
            .or_insert_with(|| local.format("%Z").to_string());
        t += TimeDelta::hours(1);
    }
    out
}

/// The instant a local wall-clock time means in `tz`: inside a spring-forward gap, the first
/// instant after it; in a fall-back hour, its first occurrence.
pub fn local_instant(tz: Tz, mut local: chrono::NaiveDateTime) -> DateTime<Utc> {
    // Gaps are at most a few hours; step until the wall clock exists again.
    for _ in 0..(48 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => local += TimeDelta::minutes(1),
        }
    }
    // Unreachable for real zones; fall back to reading the wall time as UTC.
    Utc.from_utc_datetime(&local)
}

/// The first day of `d`'s month.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// How many days `d`'s month has.
pub fn days_in_month(d: NaiveDate) -> u32 {
    let first = month_start(d);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    u32::try_from((next - first).num_days()).unwrap_or(30)
}

/// Every day of `d`'s month, in order.
pub fn month_days(d: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let first = month_start(d);
    (0..days_in_month(d)).filter_map(move |i| first.checked_add_days(Days::new(u64::from(i))))
}

/// Every day from `from` to `to` (exclusive), in order.
pub fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d < to)
}

/// The most recent UTC billing day (Cost Explorer's and AWS Budgets' day) that has ended at
/// `now`.
pub fn last_ended_day(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive() - Days::new(1)
}

/// `[start, end)` of the UTC day `date` (a Cost Explorer billing day).
pub fn utc_day(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = date.succ_opt().unwrap_or(date);
    (
        date.and_time(chrono::NaiveTime::MIN).and_utc(),
        next.and_time(chrono::NaiveTime::MIN).and_utc(),
    )
}

/// The instant local midnight starts `date` in `tz` (the first instant after a gap, the first
/// occurrence when ambiguous).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date.and_time(chrono::NaiveTime::MIN))
}

/// `[start, end)` of local day `date`: 23, 24 or 25 hours.
pub fn local_day(tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = date.succ_opt().unwrap_or(date);
    (local_midnight(tz, date), local_midnight(tz, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both of a zone's names over a DST change, keyed by offset as a browser writes it.
    #[test]
    fn zone_names_cover_both_sides_of_a_dst_change() {
        let from: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
        let names = zone_names(
            chrono_tz::Australia::Sydney,
            from,
            from + TimeDelta::days(7),
        );
        assert_eq!(names.get("+10:00").map(String::as_str), Some("AEST"));
        assert_eq!(names.get("+11:00").map(String::as_str), Some("AEDT"));
        let names = zone_names(
            chrono_tz::Pacific::Honolulu,
            from,
            from + TimeDelta::days(7),
        );
        assert_eq!(names.len(), 1);
        assert_eq!(names.get("-10:00").map(String::as_str), Some("HST"));
    }
}
