//! Durations as people write them: `2h`, `90m`, `1h30m`, `1d`.

use chrono::TimeDelta;

/// Parses a duration made of whole numbers with units `d`, `h`, `m` (and `s`), largest first.
///
/// The error says what was expected; it never panics, whatever the input.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration: write one like \"2h\", \"90m\" or \"1h30m\"".into());
    }
    let mut total: i64 = 0;
    let mut last_unit = u8::MAX;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "\"{t}\" is not a duration: expected a number at \"{rest}\" (write \"2h\", \"90m\" or \"1h30m\")"
            ));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("\"{t}\" is too long a duration"))?;
        let after = &rest[digits..];
        let unit = after.chars().next().ok_or_else(|| {
            format!("\"{t}\" has a number without a unit: add d, h, m or s (like \"{t}h\")")
        })?;
        let (rank, seconds) = match unit {
            'd' => (0, 86_400),
            'h' => (1, 3_600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => {
                let word: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| !c.is_ascii_digit() && !c.is_whitespace())
                    .take(20)
                    .collect();
                return Err(format!(
                    "\"{t}\" has an unknown unit \"{word}\": write it like \"2h\", \"90m\" or \"1h30m\" (units d, h, m, s)"
                ));
            }
        };
        if last_unit != u8::MAX && rank <= last_unit {
            return Err(format!(
                "\"{t}\" repeats or misorders its units: write the largest first, like \"1h30m\""
            ));
        }
        last_unit = rank;
        total = n
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .filter(|s| *s <= 366 * 86_400)
            .ok_or_else(|| format!("\"{t}\" is longer than a year"))?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    if total == 0 {
        return Err(format!("\"{t}\" is zero: a duration must be positive"));
    }
    TimeDelta::try_seconds(total).ok_or_else(|| format!("\"{t}\" is out of range"))
}

/// Formats a duration the way [`parse_duration`] reads it: `2h`, `1h30m`, `45m`.
pub fn format_duration(d: TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, minutes, seconds) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let mut out = String::new();
    for (n, u) in [(days, 'd'), (hours, 'h'), (minutes, 'm'), (seconds, 's')] {
        if n > 0 {
            out.push_str(&format!("{n}{u}"));
        }
    }
    if out.is_empty() { "0m".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_common_forms() {
        assert_eq!(parse_duration("2h"), Ok(TimeDelta::hours(2)));
        assert_eq!(parse_duration("90m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("1h30m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration(" 1d "), Ok(TimeDelta::days(1)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in [
            "",
            "h",
            "2",
            "2x",
            "0h",
            "30m1h",
            "1h1h",
            "-1h",
            "99999999999999999999h",
            "400d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn format_then_parse_is_identity(secs in 1i64..366 * 86_400) {
            let d = TimeDelta::seconds(secs);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
