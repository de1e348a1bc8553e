//! Money: US dollars, exact to the micro-dollar.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of US dollars, exact to the micro-dollar (1e-6 USD). Sums are exact; rounding
/// happens once, when an amount is shown.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Money(pub i64);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(0);

    /// Parses a decimal amount as Cost Explorer writes it (`"12.3456789012"`, `"-0.01"`,
    /// `"3E-7"` is refused). Digits past the sixth decimal are rounded half away from zero.
    pub fn parse(s: &str) -> Option<Money> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut micros: i64 = 0;
        for b in frac.bytes().chain(std::iter::repeat(b'0')).take(6) {
            micros = micros * 10 + i64::from(b - b'0');
        }
        let round_up = frac.as_bytes().get(6).is_some_and(|b| *b >= b'5');
        let total = int
            .checked_mul(1_000_000)?
            .checked_add(micros + i64::from(round_up))?;
        Some(Money(if neg { -total } else { total }))
    }

    /// Whole cents, rounded half away from zero.
    pub fn cents(self) -> i64 {
        let c = self.0.abs().saturating_add(5_000) / 10_000;
        if self.0 < 0 { -c } else { c }
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(it: I) -> Money {
        Money(it.map(|m| m.0).sum())
    }
}

impl fmt::Display for Money {
    /// `$1,234.56`, `-$0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.cents();
        let (sign, c) = if c < 0 { ("-", -c) } else { ("", c) };
        let dollars = (c / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}${grouped}.{:02}", c % 100)
    }
}
