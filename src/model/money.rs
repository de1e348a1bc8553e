//! Money: US dollars, exact to the nano-dollar.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Nano-dollars in a dollar.
const NANOS: i64 = 1_000_000_000;

/// An amount of US dollars, exact to the nano-dollar (1e-9 USD). Sums are exact; rounding to
/// the cent happens once, when an amount is shown. Cost Explorer's amounts (up to ten decimals,
/// line items of $0.0000045) are kept to the nano-dollar, so a thousand of them still sum to the
/// cent. Kept as a decimal string in JSON (`"12.345"`), so no reader takes it for a float.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(0);

    /// An amount in micro-dollars (1e-6 USD).
    pub const fn from_micros(micros: i64) -> Money {
        Money(micros * 1_000)
    }

    /// An amount in whole cents.
    pub const fn from_cents(cents: i64) -> Money {
        Money(cents * 10_000_000)
    }

    /// Dollars as a float, for percentages and drawing only.
    pub fn dollars_f64(self) -> f64 {
        self.0 as f64 / NANOS as f64
    }

    /// Parses a decimal amount as Cost Explorer writes it (`"12.3456789012"`, `"-0.01"`,
    /// `"3E-7"` is refused). Digits past the ninth decimal are rounded half away from zero.
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
        let mut nanos: i64 = 0;
        for b in frac.bytes().chain(std::iter::repeat(b'0')).take(9) {
            nanos = nanos * 10 + i64::from(b - b'0');
        }
        let round_up = frac.as_bytes().get(9).is_some_and(|b| *b >= b'5');
        let total = int
            .checked_mul(NANOS)?
            .checked_add(nanos + i64::from(round_up))?;
        Some(Money(if neg { -total } else { total }))
    }

    /// Whole cents, rounded half away from zero.
    pub fn cents(self) -> i64 {
        let c = self.0.abs().saturating_add(5_000_000) / 10_000_000;
        if self.0 < 0 { -c } else { c }
    }

    /// The exact amount as a decimal, trailing zeros dropped: `12.5`, `-0.000000045`, `0`.
    pub fn exact(self) -> String {
        let (sign, n) = if self.0 < 0 {
            ("-", -(self.0 as i128))
        } else {
            ("", self.0 as i128)
        };
        let (int, frac) = (n / NANOS as i128, n % NANOS as i128);
        if frac == 0 {
            return format!("{sign}{int}");
        }
        let frac = format!("{frac:09}");
        format!("{sign}{int}.{}", frac.trim_end_matches('0'))
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.exact())
    }
}

impl<'de> Deserialize<'de> for Money {
    /// The decimal string [`Money`] writes; an integer is a micro-dollar amount as lightsout
    /// wrote it before (in the store's cache), read as such.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Decimal(String),
            Micros(i64),
        }
        match Repr::deserialize(d)? {
            Repr::Decimal(s) => Money::parse(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("not an amount: {s:?}"))),
            Repr::Micros(m) => Ok(Money::from_micros(m)),
        }
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
        write!(f, "{sign}${}.{:02}", thousands(c / 100), c % 100)
    }
}

/// `1,234,567`: a whole number with its thousands separated (`-1,234` below zero).
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Money, thousands};

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn parses_to_the_nano_dollar_and_rounds_once_at_the_cent() {
        assert_eq!(Money::parse("12.3456789012"), Some(Money(12_345_678_901)));
        assert_eq!(Money::parse("-0.01"), Some(Money::from_cents(-1)));
        assert_eq!(Money::parse("0.0000045"), Some(Money(4_500)));
        assert_eq!(Money::parse("3E-7"), None);
        // A thousand line items of $0.0000045 are $0.0045: shown as $0.00, not $0.01.
        let sum: Money = (0..1000).map(|_| Money::parse("0.0000045").unwrap()).sum();
        assert_eq!(sum, Money(4_500_000));
        assert_eq!(sum.to_string(), "$0.00");
        assert_eq!(Money::parse("1234.565").unwrap().to_string(), "$1,234.57");
        assert_eq!(Money::parse("-0.005").unwrap().to_string(), "-$0.01");
    }

    #[test]
    fn json_is_an_exact_decimal_and_old_micro_dollar_integers_still_read() {
        let m = Money::parse("12.5").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"12.5\"");
        assert_eq!(serde_json::from_str::<Money>("\"12.5\"").unwrap(), m);
        assert_eq!(serde_json::from_str::<Money>("12500000").unwrap(), m);
        assert_eq!(Money(-45).exact(), "-0.000000045");
        assert_eq!(Money::ZERO.exact(), "0");
        assert!(serde_json::from_str::<Money>("\"twelve\"").is_err());
    }
}
