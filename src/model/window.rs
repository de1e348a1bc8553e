//! Awake windows: `"Mon-Fri 07:00-20:00"`, `"Sat,Sun 10:00-14:00"`, `"Fri 18:00-02:00"`.
//!
//! A window is a set of week days and a local time range. When the end is not after the start the
//! window crosses midnight and ends on the next day. `24:00` is allowed as an end.

use std::fmt;
use std::ops::Range;

use chrono::Weekday;

/// Minutes in a day.
pub const DAY_MINUTES: u16 = 24 * 60;

/// Day names in week order, as written in windows.
pub const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A weekly awake window, in the environment's local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Days the window starts on, Monday first.
    pub days: [bool; 7],
    /// Start, in minutes after local midnight (0..1440).
    pub start: u16,
    /// End, in minutes after local midnight (1..=1440); when `end <= start` the window ends on
    /// the next day.
    pub end: u16,
    /// The text the window was written as.
    pub text: String,
}

/// A problem in a window expression, with the byte range of the offending part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowError {
    /// Byte range inside the expression.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl Window {
    /// Whether the window ends on the day after it starts.
    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Length of one occurrence, in minutes (wall-clock, ignoring DST).
    pub fn length_minutes(&self) -> u16 {
        if self.crosses_midnight() {
            DAY_MINUTES - self.start + self.end
        } else {
            self.end - self.start
        }
    }

    /// Whether the window starts on `day`.
    pub fn starts_on(&self, day: Weekday) -> bool {
        self.days[day.num_days_from_monday() as usize]
    }

    /// The minutes of the week (Monday 00:00 = 0) this window covers, as a bit set.
    pub fn week_minutes(&self) -> WeekMinutes {
        let mut set = WeekMinutes::default();
        let week = 7 * u32::from(DAY_MINUTES);
        for (day, on) in self.days.iter().enumerate() {
            if !on {
                continue;
            }
            let from = day as u32 * u32::from(DAY_MINUTES) + u32::from(self.start);
            for m in from..from + u32::from(self.length_minutes()) {
                set.insert((m % week) as usize);
            }
        }
        set
    }

    /// Parses a window expression.
    pub fn parse(text: &str) -> Result<Window, WindowError> {
        let trimmed_start = text.len() - text.trim_start().len();
        let body = text.trim();
        let Some(space) = body.find(char::is_whitespace) else {
            let span = trimmed_start..trimmed_start + body.len();
            return Err(if body.is_empty() {
                WindowError {
                    span: 0..text.len(),
                    message: "empty window".into(),
                    help: Some("write days and a time range, like \"Mon-Fri 07:00-20:00\"".into()),
                }
            } else if body.contains(':') {
                WindowError {
                    span,
                    message: format!("window \"{body}\" has no days"),
                    help: Some(format!(
                        "put the days first, like \"Mon-Fri {body}\" (or \"daily {body}\")"
                    )),
                }
            } else {
                WindowError {
                    span,
                    message: format!("window \"{body}\" has no time range"),
                    help: Some(format!(
                        "add a local time range, like \"{body} 07:00-20:00\""
                    )),
                }
            });
        };
        let days_text = &body[..space];
        let rest = body[space..].trim_start();
        let rest_offset = trimmed_start + body.len() - rest.len();
        let days = parse_days(days_text, trimmed_start)?;
        let (start, end) = parse_range(rest, rest_offset)?;
        Ok(Window {
            days,
            start,
            end,
            text: body.to_string(),
        })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn day_index(name: &str) -> Option<usize> {
    const LONG: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let lower = name.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(&lower))
        .or_else(|| LONG.iter().position(|d| *d == lower))
}

fn unknown_day(name: &str, span: Range<usize>) -> WindowError {
    let help = match crate::diag::suggest(name, DAY_NAMES) {
        Some(s) => format!("did you mean \"{s}\"? Days are Mon, Tue, Wed, Thu, Fri, Sat, Sun"),
        None => "days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, ranges like Mon-Fri, lists like Mon,Wed, or daily, weekdays, weekends".into(),
    };
    WindowError {
        span,
        message: format!("unknown day \"{name}\""),
        help: Some(help),
    }
}

/// Parses `Mon-Fri`, `Sat,Sun`, `Fri-Mon` (wrapping), `daily`, `weekdays`, `weekends`.
fn parse_days(text: &str, offset: usize) -> Result<[bool; 7], WindowError> {
    let mut days = [false; 7];
    match text.to_ascii_lowercase().as_str() {
        "daily" | "everyday" => return Ok([true; 7]),
        "weekdays" => return Ok([true, true, true, true, true, false, false]),
        "weekends" => return Ok([false, false, false, false, false, true, true]),
        _ => {}
    }
    let mut pos = offset;
    for item in text.split(',') {
        let item_span = pos..pos + item.len();
        pos += item.len() + 1;
        if item.is_empty() {
            return Err(WindowError {
                span: item_span,
                message: "empty day in the list".into(),
                help: Some("separate days with single commas, like \"Mon,Wed,Fri\"".into()),
            });
        }
        match item.split_once('-') {
            None => {
                let d = day_index(item).ok_or_else(|| unknown_day(item, item_span.clone()))?;
                days[d] = true;
            }
            Some((a, b)) => {
                let a_span = item_span.start..item_span.start + a.len();
                let b_span = a_span.end + 1..item_span.end;
                let from = day_index(a).ok_or_else(|| unknown_day(a, a_span))?;
                let to = day_index(b).ok_or_else(|| unknown_day(b, b_span))?;
                let mut d = from;
                loop {
                    days[d] = true;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
        }
    }
    Ok(days)
}

/// Parses `HH:MM-HH:MM`.
fn parse_range(text: &str, offset: usize) -> Result<(u16, u16), WindowError> {
    let Some((a, b)) = text.split_once('-') else {
        return Err(WindowError {
            span: offset..offset + text.len(),
            message: format!("\"{text}\" is not a time range"),
            help: Some("write a local start and end time, like 07:00-20:00".into()),
        });
    };
    let a_trim = a.trim();
    let a_off = offset + (a.len() - a.trim_start().len());
    let b_off = offset + a.len() + 1 + (b.len() - b.trim_start().len());
    let b_trim = b.trim();
    let start = parse_time(a_trim, a_off, false)?;
    let end = parse_time(b_trim, b_off, true)?;
    if start == end {
        return Err(WindowError {
            span: offset..offset + text.len(),
            message: format!("window {a_trim}-{b_trim} is empty"),
            help: Some(
                "the end must differ from the start; for a whole day write 00:00-24:00".into(),
            ),
        });
    }
    // An end of 00:00 means midnight at the end of the window's day, the same as 24:00.
    let end = if end == 0 { DAY_MINUTES } else { end };
    Ok((start, end))
}

/// Parses `HH:MM` into minutes after midnight; `24:00` only as an end.
fn parse_time(text: &str, offset: usize, is_end: bool) -> Result<u16, WindowError> {
    let span = offset..offset + text.len();
    let bad = |message: String, help: &str| WindowError {
        span: span.clone(),
        message,
        help: Some(help.to_string()),
    };
    let Some((h, m)) = text.split_once(':') else {
        return Err(bad(
            format!("\"{text}\" is not a time"),
            "write times as HH:MM on a 24-hour clock, like 07:00 or 19:30",
        ));
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad(
            format!("\"{text}\" is not a time"),
            "write times as HH:MM on a 24-hour clock, like 07:00 or 19:30",
        ));
    }
    let (h, m): (u16, u16) = (h.parse().unwrap_or(99), m.parse().unwrap_or(99));
    if m > 59 {
        return Err(bad(
            format!("minute {m:02} in \"{text}\" is out of range"),
            "minutes go from 00 to 59",
        ));
    }
    if h == 24 && m == 0 {
        if is_end {
            return Ok(DAY_MINUTES);
        }
        return Err(bad(
            "a window cannot start at 24:00".into(),
            "start at 00:00 on the next day instead",
        ));
    }
    if h > 23 {
        return Err(bad(
            format!("hour {h} in \"{text}\" is out of range"),
            "hours go from 00 to 23 (24:00 is allowed as an end)",
        ));
    }
    Ok(h * 60 + m)
}

/// A set of minutes of the week, for finding overlapping windows.
#[derive(Clone, PartialEq, Eq)]
pub struct WeekMinutes([u64; 158]);

impl Default for WeekMinutes {
    fn default() -> Self {
        WeekMinutes([0; 158])
    }
}

impl WeekMinutes {
    fn insert(&mut self, minute: usize) {
        self.0[minute / 64] |= 1 << (minute % 64);
    }

    /// The first minute of the week both sets contain.
    pub fn first_common(&self, other: &WeekMinutes) -> Option<u32> {
        self.0
            .iter()
            .zip(other.0.iter())
            .enumerate()
            .find_map(|(i, (a, b))| {
                let both = a & b;
                (both != 0).then(|| i as u32 * 64 + both.trailing_zeros())
            })
    }
}

/// Formats a minute of the week as `Tue 19:30`.
pub fn week_minute_label(minute: u32) -> String {
    let day = (minute / u32::from(DAY_MINUTES)) as usize % 7;
    let m = minute % u32::from(DAY_MINUTES);
    format!("{} {:02}:{:02}", DAY_NAMES[day], m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(w: &Window) -> String {
        w.days
            .iter()
            .zip(DAY_NAMES)
            .filter(|(on, _)| **on)
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn parses_ranges_lists_and_keywords() {
        let w = Window::parse("Mon-Fri 07:00-20:00").unwrap();
        assert_eq!(days(&w), "Mon,Tue,Wed,Thu,Fri");
        assert_eq!((w.start, w.end), (420, 1200));
        assert!(!w.crosses_midnight());
        assert_eq!(
            days(&Window::parse("sat,SUN 10:00-14:00").unwrap()),
            "Sat,Sun"
        );
        assert_eq!(
            days(&Window::parse("Fri-Mon 10:00-14:00").unwrap()),
            "Mon,Fri,Sat,Sun"
        );
        assert_eq!(days(&Window::parse("daily 00:00-24:00").unwrap()).len(), 27);
        assert_eq!(
            days(&Window::parse("weekends 9:00-12:00").unwrap()),
            "Sat,Sun"
        );
        assert_eq!(days(&Window::parse("Wednesday 9:00-12:00").unwrap()), "Wed");
    }

    #[test]
    fn window_ending_before_it_starts_crosses_midnight() {
        let w = Window::parse("Fri 18:00-02:00").unwrap();
        assert!(w.crosses_midnight());
        assert_eq!(w.length_minutes(), 8 * 60);
        let w = Window::parse("Fri 18:00-00:00").unwrap();
        assert!(
            !w.crosses_midnight(),
            "00:00 as an end means the end of that day"
        );
        assert_eq!(w.end, DAY_MINUTES);
    }

    #[test]
    fn misspelt_day_points_at_it_and_suggests_the_real_one() {
        let e = Window::parse("Mon-Fry 07:00-20:00").unwrap_err();
        assert_eq!(e.span, 4..7);
        assert_eq!(e.message, "unknown day \"Fry\"");
        assert!(e.help.unwrap().contains("did you mean \"Fri\""));
    }

    #[test]
    fn out_of_range_times_are_refused_with_the_range() {
        let e = Window::parse("Mon 25:00-26:00").unwrap_err();
        assert_eq!(e.span, 4..9);
        assert!(e.message.contains("hour 25"), "{}", e.message);
        let e = Window::parse("Mon 07:60-08:00").unwrap_err();
        assert!(e.message.contains("minute 60"), "{}", e.message);
        let e = Window::parse("Mon 24:00-08:00").unwrap_err();
        assert!(e.message.contains("cannot start at 24:00"));
    }

    #[test]
    fn empty_and_shapeless_windows_are_refused() {
        assert!(
            Window::parse("Mon 07:00-07:00")
                .unwrap_err()
                .message
                .contains("empty")
        );
        assert!(
            Window::parse("Mon 00:00-00:00")
                .unwrap_err()
                .message
                .contains("empty")
        );
        assert!(Window::parse("").unwrap_err().message.contains("empty"));
        assert!(
            Window::parse("07:00-20:00")
                .unwrap_err()
                .message
                .contains("no days")
        );
        assert!(
            Window::parse("Mon")
                .unwrap_err()
                .message
                .contains("no time range")
        );
        assert!(
            Window::parse("Mon 7-20")
                .unwrap_err()
                .message
                .contains("not a time")
        );
        assert!(Window::parse("Mon,,Tue 07:00-08:00").is_err());
    }

    #[test]
    fn overlap_is_found_across_the_week_boundary() {
        let a = Window::parse("Sun 22:00-02:00").unwrap().week_minutes();
        let b = Window::parse("Mon 01:00-03:00").unwrap().week_minutes();
        assert_eq!(
            a.first_common(&b).map(week_minute_label).as_deref(),
            Some("Mon 01:00")
        );
        let c = Window::parse("Mon 02:00-03:00").unwrap().week_minutes();
        assert_eq!(a.first_common(&c), None, "touching windows do not overlap");
    }
}
