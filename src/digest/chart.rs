//! The month to date as a picture, for the email: drawn by hand on an RGB buffer and encoded as
//! PNG, with its own value axis, dates, values and legend in a small bitmap font, so a reader
//! needs no caption to read it; and a sparkline of the daily figures, for text channels.
//!
//! What the picture shows, for the billing month:
//! - one bar per day up to the reported day: the month to date at the end of that day, blue
//!   while it is at or under the budget's pace at that day and red above it. The comparison is
//!   cumulative: a weekday above budget / days does not paint its bar red while the month is
//!   still under pace. A day Cost Explorer still estimates is hatched with a lighter tint; a
//!   day with no figure is a grey stub on the baseline; days still to come are blank;
//! - the budget's pace as a solid line that follows the month, from nothing before the 1st to
//!   the whole budget at the last day (budget × d / days at day d), labelled with the budget;
//! - the projection as a dashed line from the month to date at the reported day to the
//!   projected month end at the last day, labelled with its value;
//! - a value axis of 3 or 4 round steps (1, 2, 2.5 or 5 × 10ⁿ), the dates of the 1st, 8th,
//!   15th, 22nd and 29th, the month to date's value over its last bar, and a legend of what is
//!   drawn.
//!
//! Amounts stay [`Money`]; floats are only for pixel geometry.

use super::figures::{ChartData, Digest};
use super::input::Money;
use crate::model::thousands;

/// Image width in pixels.
pub const WIDTH: u32 = 600;
/// Image height in pixels.
pub const HEIGHT: u32 = 240;
/// The row of the value axis' zero: bars grow up from just above it.
pub const BASELINE: u32 = HEIGHT - 22;
/// The row of the value axis' top gridline (the plot is `BASELINE - PLOT_TOP` = 188 px high,
/// which four steps divide evenly).
pub const PLOT_TOP: u32 = 30;
/// The top row of the legend.
const LEGEND_Y: u32 = 8;
/// Gap between a value label and the plot.
const LABEL_GAP: u32 = 5;

/// A bar at or under the pace at its day (or any bar when there is no budget).
pub const UNDER: [u8; 3] = [0x4c, 0x78, 0xa8];
/// The lighter tint hatched into an estimated bar under pace.
pub const UNDER_ESTIMATED: [u8; 3] = [0xb9, 0xcb, 0xde];
/// A bar above the pace at its day.
pub const OVER: [u8; 3] = [0xe4, 0x57, 0x56];
/// The lighter tint hatched into an estimated bar above pace.
pub const OVER_ESTIMATED: [u8; 3] = [0xf5, 0xc0, 0xbf];
/// The stub of a day with no figure.
pub const MISSING: [u8; 3] = [0xbb, 0xbb, 0xbb];
/// The budget pace line and the budget's label.
pub const PACE: [u8; 3] = [0x22, 0x22, 0x22];
/// The dashed projection line and its label.
pub const PROJECTED: [u8; 3] = [0x8e, 0x44, 0xad];
/// Gridlines.
pub const GRID: [u8; 3] = [0xe6, 0xe6, 0xe6];
/// The baseline and the date ticks.
const AXIS: [u8; 3] = [0x88, 0x88, 0x88];
/// The month to date's value, over its last bar.
pub const VALUE: [u8; 3] = [0x2b, 0x4a, 0x6f];
/// Labels and the legend.
pub const TEXT: [u8; 3] = [0x55, 0x55, 0x55];
/// The background.
pub const BACKGROUND: [u8; 3] = [0xff, 0xff, 0xff];

/// Eight levels, lowest first.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Glyph width and height; glyphs advance by one more than their width.
const GLYPH: (u32, u32) = (5, 7);
/// A 5×7 bitmap font for the labels: each row's five pixels in the low bits, leftmost first.
/// A character not here is drawn as a space.
const FONT: &[(char, [u8; 7])] = &[
    (' ', [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
    ('0', [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e]),
    ('1', [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e]),
    ('2', [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f]),
    ('3', [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e]),
    ('4', [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02]),
    ('5', [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e]),
    ('6', [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e]),
    ('7', [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08]),
    ('8', [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e]),
    ('9', [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c]),
    ('$', [0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04]),
    (',', [0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08]),
    ('.', [0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c]),
    ('-', [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00]),
    ('k', [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12]),
    ('A', [0x0e, 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11]),
    ('B', [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e]),
    ('C', [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e]),
    ('D', [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c]),
    ('E', [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f]),
    ('F', [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10]),
    ('G', [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f]),
    ('H', [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11]),
    ('I', [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e]),
    ('J', [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c]),
    ('K', [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11]),
    ('L', [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f]),
    ('M', [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11]),
    ('N', [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11]),
    ('O', [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e]),
    ('P', [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10]),
    ('Q', [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d]),
    ('R', [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11]),
    ('S', [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e]),
    ('T', [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04]),
    ('U', [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e]),
    ('V', [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04]),
    ('W', [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a]),
    ('X', [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11]),
    ('Y', [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04]),
    ('Z', [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f]),
];

/// The month to date against the budget's pace as PNG; `None` when there is no spend data.
pub fn chart_png(d: &Digest) -> Option<Vec<u8>> {
    draw(&d.chart)
}

/// The glyph of `c`.
fn glyph(c: char) -> [u8; 7] {
    FONT.iter()
        .find(|(g, _)| *g == c)
        .map_or([0; 7], |(_, rows)| *rows)
}

/// How wide `s` is drawn, in pixels.
fn text_width(s: &str) -> u32 {
    let n = u32::try_from(s.chars().count()).unwrap_or(u32::MAX / 8);
    (n * (GLYPH.0 + 1)).saturating_sub(1)
}

/// A value axis: `steps` gridlines above zero, `step` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Between two gridlines.
    pub step: Money,
    /// Gridlines above zero.
    pub steps: u32,
}

impl Scale {
    /// The top gridline's value.
    pub fn top(self) -> Money {
        Money(self.step.0.saturating_mul(i64::from(self.steps)))
    }
}

/// The finest round step (1, 2, 2.5 or 5 × 10ⁿ, at least a cent) that reaches `max` in at
/// most four steps, and how many it takes (3 or 4 for any `max` above a few cents, so the axis
/// has 4 or 5 labels counting $0): $812 → 4 steps of $250, $750 → 4 of $200.
pub fn nice_scale(max: Money) -> Scale {
    const CENT: i128 = 10_000_000;
    let max = i128::from(max.0.max(0));
    let mut p = CENT;
    loop {
        for step in [p, 2 * p, p * 5 / 2, 5 * p] {
            if step % CENT != 0 {
                continue;
            }
            let steps = (max + step - 1) / step;
            if steps <= 4 {
                return Scale {
                    step: Money(i64::try_from(step).unwrap_or(i64::MAX)),
                    steps: u32::try_from(steps.max(1)).unwrap_or(1),
                };
            }
        }
        p *= 10;
    }
}

/// A value axis label: `$0`, `$250`, `$2.50` (when the step is not whole dollars), `$1.5k`.
fn axis_label(v: Money, step: Money) -> String {
    if step.cents() % 100 != 0 {
        return v.to_string();
    }
    let dollars = v.cents() / 100;
    if dollars < 1000 {
        return format!("${dollars}");
    }
    let rest = format!("{:03}", dollars % 1000);
    let rest = rest.trim_end_matches('0');
    let point = if rest.is_empty() { "" } else { "." };
    format!("${}{point}{rest}k", thousands(dollars / 1000))
}

/// An amount drawn in the picture: whole dollars from $100 (`$1,234`), cents below (`$35.61`).
fn amount_label(m: Money) -> String {
    let c = m.cents();
    if c.abs() < 10_000 {
        return m.to_string();
    }
    let dollars = (c.abs() + 50) / 100;
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}${}", thousands(dollars))
}

/// Where everything goes: the plot spans columns `[left, right)` and rows `[PLOT_TOP,
/// BASELINE]`, one column per day of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The plot's first column (the value labels are to its left).
    pub left: u32,
    /// One past the plot's last column (the budget's and the projection's labels are to its
    /// right).
    pub right: u32,
    /// Days in the month.
    pub days: u32,
    /// The value axis.
    pub scale: Scale,
}

impl Layout {
    /// The layout of `c`: the scale reaches the budget, the projection and the month to date.
    pub fn new(c: &ChartData) -> Option<Layout> {
        let days = u32::try_from(c.days.len()).ok().filter(|d| *d > 0)?;
        let max = c
            .days
            .iter()
            .filter_map(|d| d.to_date)
            .chain(c.budget)
            .chain(c.projection)
            .max()
            .unwrap_or(Money::ZERO);
        let scale = nice_scale(max);
        let labels = (0..=scale.steps)
            .map(|k| text_width(&axis_label(Money(scale.step.0 * i64::from(k)), scale.step)))
            .max()
            .unwrap_or(0);
        let ends = end_labels(c)
            .iter()
            .map(|(_, s, _)| text_width(s))
            .max()
            .unwrap_or(0);
        Some(Layout {
            left: labels + LABEL_GAP + 6,
            right: WIDTH - (ends + LABEL_GAP + 6).max(12),
            days,
            scale,
        })
    }

    /// The columns `[x0, x1)` of day `i` (0-based).
    pub fn column(&self, i: u32) -> (u32, u32) {
        let w = self.right - self.left;
        (
            self.left + w * i / self.days,
            self.left + w * (i + 1) / self.days,
        )
    }

    /// The columns `[x0, x1)` of day `i`'s bar: its column less a gap.
    pub fn bar(&self, i: u32) -> (u32, u32) {
        let (x0, x1) = self.column(i);
        let gap = ((x1 - x0) / 5).max(1);
        (x0 + gap / 2 + 1, x1 - (gap - gap / 2))
    }

    /// The middle column of day `i`'s bar: where the lines pass through that day's value.
    pub fn centre(&self, i: u32) -> u32 {
        let (x0, x1) = self.bar(i);
        (x0 + x1) / 2
    }

    /// The row of value `m` (clamped to the plot): the top row of a bar of that height.
    pub fn y(&self, m: Money) -> u32 {
        let top = i128::from(self.scale.top().0).max(1);
        let v = i128::from(m.0).clamp(0, top);
        let h = i128::from(BASELINE - PLOT_TOP);
        BASELINE - u32::try_from((v * h + top / 2) / top).unwrap_or(0)
    }
}

/// The labels at the right of the plot: the budget (at the pace line's end) and the projected
/// month end (at the projection line's end), with their value and colour.
fn end_labels(c: &ChartData) -> Vec<(Money, String, [u8; 3])> {
    let mut out = Vec::new();
    if let Some(b) = c.budget {
        out.push((b, amount_label(b), PACE));
    }
    if let Some(p) = projection(c) {
        out.push((p.1, amount_label(p.1), PROJECTED));
    }
    out
}

/// The projection line's ends: the month to date at the reported day and the projected month
/// end; none when there is no projection or the reported day is the month's last.
fn projection(c: &ChartData) -> Option<(Money, Money)> {
    let days = u32::try_from(c.days.len()).ok()?;
    let from = c.days.get(c.through.checked_sub(1)? as usize)?.to_date?;
    (c.through < days).then_some((from, c.projection?))
}

/// What a legend entry shows before its words.
#[derive(Clone, Copy)]
enum Swatch {
    Fill([u8; 3]),
    Hatch([u8; 3], [u8; 3]),
    Stub,
    Line([u8; 3]),
    Dashed([u8; 3]),
}

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            px: BACKGROUND
                .iter()
                .copied()
                .cycle()
                .take((WIDTH * HEIGHT * 3) as usize)
                .collect(),
        }
    }

    fn set(&mut self, x: u32, y: u32, c: [u8; 3]) {
        if x < WIDTH && y < HEIGHT {
            let i = ((y * WIDTH + x) * 3) as usize;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x0: u32, y0: u32, x1: u32, y1: u32, c: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, c);
            }
        }
    }

    /// A rectangle of `tint` crossed by diagonal lines of `c`.
    fn hatch(&mut self, x0: u32, y0: u32, x1: u32, y1: u32, c: [u8; 3], tint: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, if (x + y) % 3 == 0 { c } else { tint });
            }
        }
    }

    /// A line 2 px thick through `points` (rows `y - 1` and `y` at each point), dashed when
    /// `dashed`.
    fn polyline(&mut self, points: &[(u32, u32)], c: [u8; 3], dashed: bool) {
        let Some(&(start, _)) = points.first() else {
            return;
        };
        for seg in points.windows(2) {
            let ((xa, ya), (xb, yb)) = (seg[0], seg[1]);
            let mut prev = ya;
            for x in xa..=xb {
                let t = if xb > xa {
                    f64::from(x - xa) / f64::from(xb - xa)
                } else {
                    1.0
                };
                let y = (f64::from(ya) + (f64::from(yb) - f64::from(ya)) * t).round() as u32;
                if !dashed || (x - start) % 7 < 4 {
                    for row in prev.min(y).saturating_sub(1)..=prev.max(y) {
                        self.set(x, row, c);
                    }
                }
                prev = y;
            }
        }
    }

    /// `s` with its top-left at `(x, y)`.
    fn text(&mut self, x: u32, y: u32, s: &str, c: [u8; 3]) {
        self.glyphs(x, y, s, |cv, px, py| cv.set(px, py, c));
    }

    /// `s` on a margin of background, to stay legible over bars and lines.
    fn text_on_background(&mut self, x: u32, y: u32, s: &str, c: [u8; 3]) {
        self.glyphs(x, y, s, |cv, px, py| {
            cv.rect(
                px.saturating_sub(1),
                py.saturating_sub(1),
                px + 2,
                py + 2,
                BACKGROUND,
            );
        });
        self.text(x, y, s, c);
    }

    fn glyphs(&mut self, x: u32, y: u32, s: &str, mut f: impl FnMut(&mut Canvas, u32, u32)) {
        for (k, ch) in (0u32..).zip(s.chars()) {
            for (row, bits) in (0u32..).zip(glyph(ch)) {
                for col in 0..GLYPH.0 {
                    if bits & (0x10 >> col) != 0 {
                        f(self, x + k * (GLYPH.0 + 1) + col, y + row);
                    }
                }
            }
        }
    }

    /// A legend entry at `x`; returns where the next one starts.
    fn legend(&mut self, x: u32, swatch: Swatch, words: &str) -> u32 {
        let y = LEGEND_Y;
        match swatch {
            Swatch::Fill(c) => self.rect(x, y, x + 10, y + GLYPH.1, c),
            Swatch::Hatch(c, tint) => self.hatch(x, y, x + 10, y + GLYPH.1, c, tint),
            Swatch::Stub => self.rect(x, y + GLYPH.1 - 3, x + 10, y + GLYPH.1, MISSING),
            Swatch::Line(c) => self.rect(x, y + 3, x + 14, y + 5, c),
            Swatch::Dashed(c) => {
                self.rect(x, y + 3, x + 4, y + 5, c);
                self.rect(x + 7, y + 3, x + 11, y + 5, c);
            }
        }
        let w = if matches!(swatch, Swatch::Line(_)) {
            14
        } else {
            11
        };
        self.text(x + w + 4, y, words, TEXT);
        x + w + 4 + text_width(words) + 14
    }
}

fn draw(c: &ChartData) -> Option<Vec<u8>> {
    if !c.has_data() {
        return None;
    }
    let l = Layout::new(c)?;
    let through = c.through.min(l.days);
    let mut cv = Canvas::new();

    // The value axis: gridlines and their labels.
    for k in 0..=l.scale.steps {
        let v = Money(l.scale.step.0 * i64::from(k));
        let y = l.y(v);
        let colour = if k == 0 { AXIS } else { GRID };
        cv.rect(l.left, y, l.right, y + 1, colour);
        let s = axis_label(v, l.scale.step);
        cv.text(l.left - LABEL_GAP - text_width(&s), y - 3, &s, TEXT);
    }

    // The dates: the 1st (with the month and year), 8th, 15th, 22nd and 29th.
    for day in (1..=l.days).step_by(7) {
        let x = l.centre(day - 1);
        cv.rect(x, BASELINE + 1, x + 1, BASELINE + 4, AXIS);
        let digits = day.to_string();
        let x0 = x.saturating_sub(text_width(&digits) / 2);
        let s = match c.days.first() {
            Some(first) if day == 1 => format!("1 {}", first.date.format("%b %Y")).to_uppercase(),
            _ => digits,
        };
        cv.text(x0, BASELINE + 7, &s, TEXT);
    }

    // The month to date at the end of each day so far.
    for (i, day) in (0u32..).zip(&c.days).take(through as usize) {
        let (x0, x1) = l.bar(i);
        match (day.spend, day.to_date) {
            (Some(_), Some(m)) => {
                let over = c.pace_through(i + 1).is_some_and(|p| m > p);
                let (full, tint) = if over {
                    (OVER, OVER_ESTIMATED)
                } else {
                    (UNDER, UNDER_ESTIMATED)
                };
                let y0 = l.y(m).min(BASELINE - 1);
                if day.estimated {
                    cv.hatch(x0, y0, x1, BASELINE, full, tint);
                } else {
                    cv.rect(x0, y0, x1, BASELINE, full);
                }
            }
            _ => cv.rect(x0, BASELINE - 3, x1, BASELINE, MISSING),
        }
    }

    // The budget's pace: half a day's worth at the plot's left edge, the pace at each day's
    // end through the middle of its bar, the whole budget at the last day.
    if let Some(b) = c.budget {
        let half_day = Money(b.0 / (2 * i64::from(l.days)));
        let points: Vec<(u32, u32)> = std::iter::once((l.left, l.y(half_day)))
            .chain((1..=l.days).filter_map(|d| Some((l.centre(d - 1), l.y(c.pace_through(d)?)))))
            .collect();
        cv.polyline(&points, PACE, false);
    }

    // The projection: from the month to date at the reported day to the month's end.
    if let Some((from, to)) = projection(c) {
        let points = [
            (l.centre(through - 1), l.y(from)),
            (l.centre(l.days - 1), l.y(to)),
        ];
        cv.polyline(&points, PROJECTED, true);
    }

    // The month to date's value, over its last bar (ending at its right edge, as the bars
    // before it are lower and the projection rises after it).
    if let Some(mtd) = c
        .days
        .get(through.saturating_sub(1) as usize)
        .and_then(|d| d.to_date)
        .filter(|_| through > 0)
    {
        let s = amount_label(mtd);
        let w = text_width(&s);
        let x = l.bar(through - 1).1.saturating_sub(w).max(l.left);
        let y = l.y(mtd).saturating_sub(GLYPH.1 + 4).max(PLOT_TOP - 6);
        cv.text_on_background(x, y, &s, VALUE);
    }

    // The budget and the projection at the right, kept apart when they are close.
    let mut ends: Vec<(u32, String, [u8; 3])> = end_labels(c)
        .into_iter()
        .map(|(m, s, colour)| (l.y(m), s, colour))
        .collect();
    ends.sort_by_key(|e| e.0);
    if let [a, b] = &mut ends[..]
        && b.0 < a.0 + GLYPH.1 + 2
    {
        let mid = (a.0 + b.0) / 2;
        a.0 = mid.saturating_sub(5);
        b.0 = mid + 4;
    }
    for (y, s, colour) in &ends {
        cv.text(l.right + LABEL_GAP, y.saturating_sub(3), s, *colour);
    }

    // The legend: what is drawn.
    let shown = &c.days[..through as usize];
    let mut entries = vec![(Swatch::Fill(UNDER), "MONTH TO DATE")];
    if c.budget.is_some() {
        entries.push((Swatch::Fill(OVER), "OVER PACE"));
    }
    if shown.iter().any(|d| d.spend.is_some() && d.estimated) {
        entries.push((Swatch::Hatch(UNDER, UNDER_ESTIMATED), "ESTIMATED"));
    }
    if shown.iter().any(|d| d.spend.is_none()) {
        entries.push((Swatch::Stub, "NO DATA"));
    }
    if c.budget.is_some() {
        entries.push((Swatch::Line(PACE), "BUDGET PACE"));
    }
    if projection(c).is_some() {
        entries.push((Swatch::Dashed(PROJECTED), "PROJECTED"));
    }
    let mut x = l.left;
    for (swatch, words) in entries {
        x = cv.legend(x, swatch, words);
    }

    encode(&cv.px)
}

/// The pixels as a PNG with a palette: a handful of flat colours take 4 bits a pixel (8 when
/// there are more than 16; RGB past 256).
fn encode(px: &[u8]) -> Option<Vec<u8>> {
    let mut palette: Vec<[u8; 3]> = Vec::new();
    let mut index = Vec::with_capacity(px.len() / 3);
    for p in px.chunks_exact(3) {
        let c = [p[0], p[1], p[2]];
        let i = match palette.iter().position(|q| *q == c) {
            Some(i) => i,
            None => {
                palette.push(c);
                palette.len() - 1
            }
        };
        index.push(u8::try_from(i).unwrap_or(u8::MAX));
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_compression(png::Compression::High);
    let data = if palette.len() <= 16 {
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Four);
        enc.set_palette(palette.concat());
        index
            .chunks(WIDTH as usize)
            .flat_map(|row| {
                row.chunks(2)
                    .map(|two| two[0] << 4 | two.get(1).unwrap_or(&0))
            })
            .collect()
    } else if palette.len() <= 256 {
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(palette.concat());
        index
    } else {
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        px.to_vec()
    };
    let mut w = enc.write_header().ok()?;
    w.write_image_data(&data).ok()?;
    w.finish().ok()?;
    Some(out)
}

/// `▁▂▃▄▅▆▇█` scaled from zero to the largest value.
pub fn sparkline(values: &[Money]) -> String {
    let days: Vec<Option<Money>> = values.iter().copied().map(Some).collect();
    sparkline_days(&days)
}

/// As [`sparkline`], with a gap (a space) for a day with no figure.
pub fn sparkline_days(values: &[Option<Money>]) -> String {
    let max = values.iter().flatten().map(|m| m.0).max().unwrap_or(0);
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(m) if max <= 0 || m.0 <= 0 => LEVELS[0],
            Some(m) => {
                let level = (i128::from(m.0) * 7 * 2 + i128::from(max)) / (2 * i128::from(max));
                LEVELS[usize::try_from(level).unwrap_or(0).min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::figures::compute;
    use crate::digest::fixtures::{date, sample_input, usd};
    use crate::digest::input::{Budget, DigestInput};
    use crate::digest::prices::PriceTable;

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut reader = dec.read_info().expect("a PNG header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    /// A chart as drawn: its data, its layout and its pixels.
    struct Drawn {
        data: ChartData,
        l: Layout,
        buf: Vec<u8>,
    }

    impl Drawn {
        fn of(input: &DigestInput) -> Drawn {
            let d = compute(input, PriceTable::shipped());
            let png = chart_png(&d).expect("a chart");
            let (info, buf) = decode(&png);
            assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
            assert_eq!(info.color_type, png::ColorType::Rgb);
            let l = Layout::new(&d.chart).expect("a layout");
            Drawn {
                data: d.chart,
                l,
                buf,
            }
        }

        fn px(&self, x: u32, y: u32) -> [u8; 3] {
            let i = ((y * WIDTH + x) * 3) as usize;
            [self.buf[i], self.buf[i + 1], self.buf[i + 2]]
        }

        /// The rows in `rows` of column `x` that are `c`.
        fn rows(&self, x: u32, rows: std::ops::RangeInclusive<u32>, c: [u8; 3]) -> Vec<u32> {
            rows.filter(|y| self.px(x, *y) == c).collect()
        }

        /// Whether `c` occurs in the rectangle `[x0, x1) × [y0, y1)`.
        fn any(&self, (x0, x1): (u32, u32), (y0, y1): (u32, u32), c: [u8; 3]) -> bool {
            (y0..y1).any(|y| (x0..x1).any(|x| self.px(x, y) == c))
        }

        /// The colours of day `i`'s bar column, from the plot's top to just above the baseline.
        fn column(&self, i: u32) -> Vec<[u8; 3]> {
            let x = self.l.centre(i);
            (PLOT_TOP..BASELINE).map(|y| self.px(x, y)).collect()
        }
    }

    const BAR_COLOURS: [[u8; 3]; 5] = [UNDER, UNDER_ESTIMATED, OVER, OVER_ESTIMATED, MISSING];

    fn set_spend(input: &mut DigestInput, day: &str, cents: Option<i64>) {
        if let Ok(s) = &mut input.spend {
            match cents {
                Some(c) => s
                    .days
                    .iter_mut()
                    .filter(|d| d.date == date(day))
                    .for_each(|d| d.total = usd(c)),
                None => s.days.retain(|d| d.date != date(day)),
            }
        }
    }

    #[test]
    fn the_value_axis_takes_a_round_step_that_reaches_the_largest_value_in_three_or_four() {
        let scale = |cents| {
            let s = nice_scale(usd(cents));
            (s.step, s.steps, s.top())
        };
        assert_eq!(scale(81_200), (usd(25_000), 4, usd(100_000)));
        assert_eq!(scale(75_000), (usd(20_000), 4, usd(80_000)));
        assert_eq!(scale(60_000), (usd(20_000), 3, usd(60_000)));
        assert_eq!(scale(1_000), (usd(250), 4, usd(1_000)));
        assert_eq!(scale(1_234_500), (usd(500_000), 3, usd(1_500_000)));
        assert_eq!(scale(7), (usd(2), 4, usd(8)));
        assert_eq!(scale(0), (usd(1), 1, usd(1)));
        // Every step is 1, 2, 2.5 or 5 × 10ⁿ, and the top reaches the value in 3 or 4 steps.
        for cents in (50..5_000_000).step_by(997) {
            let s = nice_scale(usd(cents));
            let mut m = s.step.cents();
            while m % 10 == 0 {
                m /= 10;
            }
            assert!([1, 2, 25, 5].contains(&m), "{cents}: step {}", s.step);
            assert!(
                s.top() >= usd(cents) && (3..=4).contains(&s.steps),
                "{cents}"
            );
        }
        assert_eq!(axis_label(usd(0), usd(25_000)), "$0");
        assert_eq!(axis_label(usd(75_000), usd(25_000)), "$750");
        assert_eq!(axis_label(usd(100_000), usd(25_000)), "$1k");
        assert_eq!(axis_label(usd(150_000), usd(50_000)), "$1.5k");
        assert_eq!(axis_label(usd(1_250_000_000), usd(250_000_000)), "$12,500k");
        assert_eq!(axis_label(usd(750), usd(250)), "$7.50");
        assert_eq!(amount_label(usd(56_789)), "$568");
        assert_eq!(amount_label(usd(123_456_789)), "$1,234,568");
        assert_eq!(amount_label(usd(3_561)), "$35.61");
    }

    #[test]
    fn value_labels_sit_on_their_gridlines_and_the_budget_is_labelled() {
        // November 2026: the budget ($750) is the largest value: $0 to $800 in steps of $200,
        // on a plot 188 px high, so 47 px a step.
        let dr = Drawn::of(&sample_input());
        assert_eq!(
            dr.l.scale,
            Scale {
                step: usd(20_000),
                steps: 4
            }
        );
        let labels = (0, dr.l.left);
        for k in 0..=4 {
            let y = BASELINE - 47 * k;
            assert_eq!(dr.px(dr.l.left + 1, y), if k == 0 { AXIS } else { GRID });
            // Glyphs 7 px high, centred on the gridline: rows y-3..=y+3 and none beside.
            for row in [y - 3, y, y + 3] {
                assert!(dr.any(labels, (row, row + 1), TEXT), "label {k} row {row}");
            }
            for row in [y - 4, y + 4] {
                assert!(!dr.any(labels, (row, row + 1), TEXT), "label {k} row {row}");
            }
            // Right-aligned, a gap before the plot.
            let last = (0..dr.l.left)
                .filter(|x| (y - 3..=y + 3).any(|r| dr.px(*x, r) == TEXT))
                .max();
            assert_eq!(last, Some(dr.l.left - LABEL_GAP - 1), "label {k}");
        }
        // $750 × 188 / 800 = 176.25 px: the budget's label is at the right, on its row.
        let y = BASELINE - 176;
        assert!(dr.any((dr.l.right, WIDTH), (y - 3, y + 4), PACE));
        assert!(!dr.any((dr.l.right, WIDTH), (y + 5, BASELINE), PACE));
    }

    #[test]
    fn the_pace_line_follows_the_month_up_to_the_budget_at_the_last_day() {
        let dr = Drawn::of(&sample_input());
        let plot = PLOT_TOP - 2..=BASELINE;
        // The top row of the line in each column it passes.
        let tops: Vec<(u32, u32)> = (dr.l.left..dr.l.right)
            .filter_map(|x| Some((x, *dr.rows(x, plot.clone(), PACE).first()?)))
            .collect();
        let third = (dr.l.right - dr.l.left) / 3;
        let mean = |range: std::ops::Range<u32>| {
            let ys: Vec<u32> = tops
                .iter()
                .filter(|(x, _)| range.contains(x))
                .map(|(_, y)| *y)
                .collect();
            assert!(!ys.is_empty(), "no pace line in {range:?}");
            ys.iter().sum::<u32>() / u32::try_from(ys.len()).unwrap()
        };
        let first = mean(dr.l.left..dr.l.left + third);
        let last = mean(dr.l.right - third..dr.l.right);
        // Rows count down: the first third is lower on the picture by about 2/3 of $750.
        assert!(
            first > last + 100,
            "first third y {first}, last third y {last}"
        );
        assert!(
            tops.windows(2).all(|w| w[1].1 <= w[0].1),
            "the line never falls"
        );
        // Half a day's pace ($12.50, 3 px) at the left edge.
        assert_eq!(tops[0], (dr.l.left, BASELINE - 3 - 1));
        // The budget's row at the last day, and no higher.
        let x = dr.l.centre(29);
        assert_eq!(
            dr.rows(x, plot.clone(), PACE),
            [BASELINE - 177, BASELINE - 176]
        );
        assert_eq!(tops.last().map(|t| t.0), Some(x));
    }

    #[test]
    fn a_bar_is_over_exactly_when_the_month_to_date_is_above_the_pace_at_its_day() {
        // The sample's weekdays cost a little over $25 (budget / days), its weekends about $8:
        // the month to date stays under the pace, so no bar is red.
        let dr = Drawn::of(&sample_input());
        let daily = usd(75_000 / 30);
        assert!(dr.data.days.iter().any(|d| d.spend > Some(daily)));
        let plot = ((dr.l.left, dr.l.right), (PLOT_TOP, BASELINE));
        assert!(!dr.any(plot.0, plot.1, OVER));
        assert!(!dr.any(plot.0, plot.1, OVER_ESTIMATED));

        // A $90 Monday puts the month over the pace for a while (weekend days included), and
        // the weekends bring it back under.
        let mut input = sample_input();
        set_spend(&mut input, "2026-11-02", Some(9_000));
        let dr = Drawn::of(&input);
        let (mut over_on_a_cheap_day, mut under_on_a_dear_day) = (false, false);
        for (i, day) in (0u32..).zip(&dr.data.days).take(28) {
            let (spend, to_date) = (day.spend.unwrap(), day.to_date.unwrap());
            let want_over = to_date > dr.data.pace_through(i + 1).unwrap();
            over_on_a_cheap_day |= want_over && spend < daily;
            under_on_a_dear_day |= !want_over && spend > daily;
            let colour = dr.px(dr.l.centre(i), BASELINE - 1);
            let drawn_over = match colour {
                OVER | OVER_ESTIMATED => true,
                UNDER | UNDER_ESTIMATED => false,
                c => panic!("day {}: {c:?} is not a bar colour", i + 1),
            };
            assert_eq!(drawn_over, want_over, "day {}", i + 1);
        }
        assert!(over_on_a_cheap_day && under_on_a_dear_day);
    }

    #[test]
    fn estimated_days_are_hatched_missing_days_a_stub_days_to_come_blank() {
        // 27 and 28 Nov are estimated; 25 Nov has no figure; 29 and 30 Nov are to come.
        let mut input = sample_input();
        set_spend(&mut input, "2026-11-25", None);
        let dr = Drawn::of(&input);
        for i in [26, 27] {
            let col = dr.column(i);
            assert!(
                col.contains(&UNDER_ESTIMATED) && col.contains(&UNDER),
                "day {}",
                i + 1
            );
        }
        for i in [23, 25] {
            let col = dr.column(i);
            assert!(col.contains(&UNDER), "day {}", i + 1);
            assert!(!col.contains(&UNDER_ESTIMATED), "day {}", i + 1);
        }
        let x = dr.l.centre(24);
        assert_eq!(
            dr.rows(x, PLOT_TOP..=BASELINE, MISSING),
            [BASELINE - 3, BASELINE - 2, BASELINE - 1]
        );
        let stub = dr.column(24);
        assert!(
            stub[..stub.len() - 3]
                .iter()
                .all(|c| !BAR_COLOURS.contains(c)),
            "a missing day's column holds only its stub"
        );
        for i in [28, 29] {
            assert!(
                dr.column(i).iter().all(|c| !BAR_COLOURS.contains(c)),
                "day {} is blank",
                i + 1
            );
            assert_eq!(dr.px(dr.l.centre(i), BASELINE - 1), BACKGROUND);
        }
        // The legend says so.
        assert!(dr.any((dr.l.left, WIDTH), (0, PLOT_TOP), UNDER_ESTIMATED));
        assert!(dr.any((dr.l.left, WIDTH), (0, PLOT_TOP), MISSING));
    }

    #[test]
    fn the_projection_is_dashed_from_the_month_to_date_to_the_month_end() {
        let dr = Drawn::of(&sample_input());
        let (from, to) = (dr.l.centre(27), dr.l.centre(29));
        let mtd = dr.data.days[27].to_date.unwrap();
        let end = dr.data.projection.unwrap();
        assert!(
            dr.rows(from, PLOT_TOP..=BASELINE, PROJECTED)
                .contains(&dr.l.y(mtd))
        );
        assert!(
            dr.rows(to, PLOT_TOP..=BASELINE, PROJECTED)
                .contains(&dr.l.y(end))
        );
        let cols: Vec<bool> = (from..=to)
            .map(|x| !dr.rows(x, PLOT_TOP..=BASELINE, PROJECTED).is_empty())
            .collect();
        assert!(cols.contains(&true) && cols.contains(&false), "dashed");
        assert!(!dr.any((dr.l.left, from), (PLOT_TOP, BASELINE + 1), PROJECTED));
        // Its value at the right.
        let y = dr.l.y(end);
        assert!(dr.any((dr.l.right, WIDTH), (y - 4, y + 5), PROJECTED));
    }

    #[test]
    fn the_dates_are_under_the_1st_8th_15th_22nd_and_29th() {
        let dr = Drawn::of(&sample_input());
        let rows = (BASELINE + 7, BASELINE + 14);
        for i in [0, 7, 14, 21, 28] {
            let x = dr.l.centre(i);
            assert!(dr.any((x - 3, x + 4), rows, TEXT), "day {}", i + 1);
            assert_eq!(dr.px(x, BASELINE + 2), AXIS, "tick of day {}", i + 1);
        }
        for i in [4, 11, 18, 25] {
            let x = dr.l.centre(i);
            assert!(!dr.any((x - 3, x + 4), rows, TEXT), "day {}", i + 1);
        }
        // "1 NOV 2026" runs on from the 1st.
        let x = dr.l.centre(0);
        assert!(dr.any((x + 10, x + 56), rows, TEXT));
    }

    #[test]
    fn no_chart_without_spend_and_no_pace_line_without_budget() {
        let mut input = sample_input();
        input.spend = Err("no data".into());
        assert_eq!(chart_png(&compute(&input, PriceTable::shipped())), None);
        let mut input = sample_input();
        if let Ok(s) = &mut input.spend {
            s.days.clear();
        }
        assert_eq!(chart_png(&compute(&input, PriceTable::shipped())), None);

        let mut input = sample_input();
        input.budget = Budget::Missing("none".into());
        let dr = Drawn::of(&input);
        for c in [PACE, OVER, OVER_ESTIMATED] {
            assert!(!dr.any((0, WIDTH), (0, HEIGHT), c), "{c:?}");
        }
        assert!(dr.column(10).contains(&UNDER));
    }

    #[test]
    fn the_png_is_small_with_a_palette() {
        let png = chart_png(&compute(&sample_input(), PriceTable::shipped())).unwrap();
        assert!(png.len() < 4_000, "{} bytes", png.len());
        let reader = png::Decoder::new(std::io::Cursor::new(&png[..]))
            .read_info()
            .unwrap();
        let info = reader.info();
        assert_eq!(
            (info.color_type, info.bit_depth),
            (png::ColorType::Indexed, png::BitDepth::Four)
        );
    }

    #[test]
    fn sparkline_scales_from_zero_to_the_largest() {
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[Money::ZERO, Money::ZERO]), "▁▁");
        assert_eq!(sparkline(&[usd(0), usd(100), usd(350), usd(700)]), "▁▂▅█");
        assert_eq!(sparkline_days(&[Some(usd(10)), None, Some(usd(5))]), "█ ▅");
        assert_eq!(sparkline(&[usd(-5), usd(10)]), "▁█");
    }
}
