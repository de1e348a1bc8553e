//! Holidays from an iCalendar (`.ics`) file: each `VEVENT`'s all-day dates.
//!
//! Only what holiday calendars use is read: `DTSTART` and the exclusive `DTEND` (or `DURATION` in
//! whole days) of each event, as dates. Recurring events (`RRULE`) are refused rather than
//! half-understood: list each year's dates instead. Errors give the line and what was expected,
//! never the value found: a calendar path pointed at another file must not echo its content.

use chrono::NaiveDate;

/// A problem in an `.ics` file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsError {
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// An event being read: its first line, DTSTART, DTEND and DURATION in days.
type Event = (usize, Option<NaiveDate>, Option<NaiveDate>, Option<i64>);

/// Reads the holiday date ranges (inclusive) of an iCalendar text.
pub fn parse_ics(text: &str) -> Result<Vec<(NaiveDate, NaiveDate)>, IcsError> {
    // Unfold continuation lines (RFC 5545 §3.1), remembering where each logical line started.
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        if let Some(cont) = raw.strip_prefix([' ', '\t'])
            && let Some((_, last)) = lines.last_mut()
        {
            last.push_str(cont);
            continue;
        }
        lines.push((i + 1, raw.to_string()));
    }
    if !lines
        .iter()
        .any(|(_, l)| l.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(IcsError {
            line: 1,
            message: "not an iCalendar file: it has no BEGIN:VCALENDAR line".into(),
        });
    }
    let mut out = Vec::new();
    let mut event: Option<Event> = None;
    for (n, line) in &lines {
        let (name_params, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
        let name = name_params
            .split(';')
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match (name.as_str(), event.as_mut()) {
            ("BEGIN", _) if value.eq_ignore_ascii_case("VEVENT") => {
                event = Some((*n, None, None, None));
            }
            ("END", Some((start_line, start, end, days)))
                if value.eq_ignore_ascii_case("VEVENT") =>
            {
                let Some(start) = *start else {
                    return Err(IcsError {
                        line: *start_line,
                        message: "event has no DTSTART".into(),
                    });
                };
                let last = match (*end, *days) {
                    (Some(end), _) if end > start => end.pred_opt().unwrap_or(start),
                    (None, Some(d)) if d > 1 => start + chrono::Days::new(d as u64 - 1),
                    _ => start,
                };
                out.push((start, last));
                event = None;
            }
            ("DTSTART", Some(ev)) => ev.1 = Some(ics_date("DTSTART", value, *n)?),
            ("DTEND", Some(ev)) => ev.2 = Some(ics_date("DTEND", value, *n)?),
            ("DURATION", Some(ev)) => {
                let days = value
                    .strip_prefix("P")
                    .and_then(|v| v.strip_suffix('D'))
                    .and_then(|v| v.parse::<i64>().ok())
                    .filter(|d| (1..=366).contains(d))
                    .ok_or_else(|| IcsError {
                        line: *n,
                        message: "DURATION is not a whole number of days: holidays are whole days, like P1D".into(),
                    })?;
                ev.3 = Some(days);
            }
            ("RRULE", Some(_)) => {
                return Err(IcsError {
                    line: *n,
                    message: "recurring events (RRULE) are not supported: list each holiday's date as its own event".into(),
                });
            }
            _ => {}
        }
    }
    if let Some((line, ..)) = event {
        return Err(IcsError {
            line,
            message: "event is not closed: add END:VEVENT".into(),
        });
    }
    Ok(out)
}

fn ics_date(name: &str, value: &str, line: usize) -> Result<NaiveDate, IcsError> {
    let digits = value.get(..8).unwrap_or(value);
    NaiveDate::parse_from_str(digits, "%Y%m%d").map_err(|_| IcsError {
        line,
        message: format!("{name} is not a date: expected YYYYMMDD, like 20261225"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn reads_all_day_events_with_exclusive_end() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\n and Boxing Day\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            parse_ics(ics).unwrap(),
            vec![
                (d("2026-12-25"), d("2026-12-26")),
                (d("2027-01-01"), d("2027-01-01"))
            ]
        );
    }

    /// A value that is not a date is reported by its line and property, never echoed.
    #[test]
    fn errors_never_echo_the_value_found() {
        let ics =
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:hunter2-SECRET\nEND:VEVENT\nEND:VCALENDAR\n";
        let e = parse_ics(ics).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.starts_with("DTSTART is not a date"), "{e:?}");
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101\nDURATION:SECRET\nEND:VEVENT\nEND:VCALENDAR\n";
        let e = parse_ics(ics).unwrap_err();
        assert!(!e.message.contains("SECRET"), "{e:?}");
    }

    #[test]
    fn refuses_recurrence_and_bad_dates_with_the_line() {
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(parse_ics(ics).unwrap_err().line, 4);
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260230\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(parse_ics(ics).unwrap_err().line, 3);
        assert!(parse_ics("hello").is_err());
    }
}
