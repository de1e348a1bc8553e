//! The month's daily spend as a picture: bars drawn by hand on an RGB buffer and encoded as PNG
//! (for the email), and a sparkline (for text channels). The image carries no text: the
//! captions live in the HTML around it.
//!
//! One bar per day of the month: blue at or under the budget pace (budget / days in month),
//! red over it; a day of the month so far with no figure is a grey stub on the baseline; days
//! still to come are left blank. The pace line is dashed.

use super::figures::{ChartData, Digest};
use super::input::Money;

/// Image width in pixels.
pub const WIDTH: u32 = 600;
/// Image height in pixels.
pub const HEIGHT: u32 = 200;
/// Plot margins: left, right, top, bottom.
const MARGIN: (u32, u32, u32, u32) = (10, 10, 10, 12);

/// A day at or under pace (or any day when there is no budget).
pub const UNDER: [u8; 3] = [0x4c, 0x78, 0xa8];
/// A day over pace.
pub const OVER: [u8; 3] = [0xe4, 0x57, 0x56];
/// The stub of a day with no figure.
pub const MISSING: [u8; 3] = [0xbb, 0xbb, 0xbb];
/// The dashed pace line.
pub const PACE: [u8; 3] = [0x33, 0x33, 0x33];
/// The baseline.
const AXIS: [u8; 3] = [0x88, 0x88, 0x88];
/// The background.
pub const BACKGROUND: [u8; 3] = [0xff, 0xff, 0xff];

/// Eight levels, lowest first.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The month's daily spend as bars with the dashed budget pace line, as PNG; `None` when
/// there is no spend data.
pub fn chart_png(d: &Digest) -> Option<Vec<u8>> {
    draw(&d.chart)
}

/// Horizontal extent `[x0, x1)` of day `i` (0-based) of a month of `days` days.
pub fn bar_span(i: u32, days: u32) -> (u32, u32) {
    let plot = WIDTH - MARGIN.0 - MARGIN.1;
    let x0 = MARGIN.0 + plot * i / days;
    let x1 = MARGIN.0 + plot * (i + 1) / days;
    let gap = ((x1 - x0) / 5).max(1);
    (x0 + gap / 2 + 1, x1 - (gap - gap / 2))
}

/// The y of the baseline: bars grow up from just above it.
pub const BASELINE: u32 = HEIGHT - MARGIN.3;

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
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
}

fn draw(c: &ChartData) -> Option<Vec<u8>> {
    if !c.has_data() {
        return None;
    }
    let days = u32::try_from(c.days.len()).ok().filter(|d| *d > 0)?;
    let plot_h = i128::from(BASELINE - MARGIN.2);
    let top = c
        .days
        .iter()
        .filter_map(|d| d.spend)
        .chain(c.pace_through(1))
        .map(|m| m.0)
        .max()
        .unwrap_or(0)
        .max(1);
    // 10 % headroom above the highest bar or the pace line.
    let scale = i128::from(top) * 11 / 10;
    let height = |m: Money| -> u32 {
        let h = i128::from(m.0.max(0)) * plot_h / scale;
        u32::try_from(h).unwrap_or(0)
    };
    let mut cv = Canvas {
        px: BACKGROUND
            .iter()
            .copied()
            .cycle()
            .take((WIDTH * HEIGHT * 3) as usize)
            .collect(),
    };
    for (i, day) in (0u32..).zip(&c.days) {
        let (x0, x1) = bar_span(i, days);
        match &day.spend {
            Some(m) => {
                let over = c.pace_through(1).is_some_and(|p| *m > p);
                let colour = if over { OVER } else { UNDER };
                let h = height(*m).max(1);
                cv.rect(x0, BASELINE - h, x1, BASELINE, colour);
            }
            None if i < c.through => cv.rect(x0, BASELINE - 3, x1, BASELINE, MISSING),
            None => {}
        }
    }
    cv.rect(MARGIN.0, BASELINE, WIDTH - MARGIN.1, BASELINE + 1, AXIS);
    if let Some(p) = c.pace_through(1) {
        let y = BASELINE - height(p).min(BASELINE - 1);
        let mut x = MARGIN.0;
        while x < WIDTH - MARGIN.1 {
            let end = (x + 8).min(WIDTH - MARGIN.1);
            cv.rect(x, y.saturating_sub(1), end, y + 1, PACE);
            x += 13;
        }
    }
    encode(&cv.px)
}

fn encode(px: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().ok()?;
    w.write_image_data(px).ok()?;
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
    use crate::digest::prices::PriceTable;

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = dec.read_info().expect("a PNG header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    fn pixel(buf: &[u8], x: u32, y: u32) -> [u8; 3] {
        let i = ((y * WIDTH + x) * 3) as usize;
        [buf[i], buf[i + 1], buf[i + 2]]
    }

    #[test]
    fn chart_decodes_with_over_pace_days_in_another_colour() {
        let mut input = sample_input();
        // Pace: $750 / 30 = $25 a day. Fri 27 Nov $24.38 is under; make Thu 26 Nov $40 over,
        // and leave Wed 25 Nov out.
        if let Ok(s) = &mut input.spend {
            s.days
                .iter_mut()
                .filter(|d| d.date == date("2026-11-26"))
                .for_each(|d| d.total = usd(4000));
            s.days.retain(|d| d.date != date("2026-11-25"));
        }
        let d = compute(&input, PriceTable::shipped());
        let png = chart_png(&d).expect("a chart");
        let (info, buf) = decode(&png);
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        let mid = |day: u32| {
            let (x0, x1) = bar_span(day - 1, 30);
            (x0 + x1) / 2
        };
        let over = pixel(&buf, mid(26), BASELINE - 2);
        let under = pixel(&buf, mid(27), BASELINE - 2);
        assert_eq!(over, OVER);
        assert_eq!(under, UNDER);
        assert_ne!(over, under);
        assert_eq!(pixel(&buf, mid(25), BASELINE - 1), MISSING);
        assert_eq!(pixel(&buf, mid(25), BASELINE - 10), BACKGROUND);
        // Days still to come are blank.
        assert_eq!(pixel(&buf, mid(30), BASELINE - 1), BACKGROUND);
        // The pace line is dashed: both its colour and the background occur along its row.
        let row: Vec<u32> = (0..HEIGHT)
            .filter(|y| (0..WIDTH).any(|x| pixel(&buf, x, *y) == PACE))
            .collect();
        assert!(!row.is_empty(), "no pace line");
        let y = row[0];
        let along: Vec<[u8; 3]> = (MARGIN.0..mid(2)).map(|x| pixel(&buf, x, y)).collect();
        assert!(
            along.contains(&PACE) && along.contains(&BACKGROUND),
            "not dashed"
        );
    }

    #[test]
    fn no_chart_without_spend_and_no_pace_line_without_budget() {
        let mut input = sample_input();
        input.spend = Err("no data".into());
        assert_eq!(chart_png(&compute(&input, PriceTable::shipped())), None);
        let mut input = sample_input();
        input.budget = crate::digest::input::Budget::Missing("none".into());
        let png = chart_png(&compute(&input, PriceTable::shipped())).unwrap();
        let (_, buf) = decode(&png);
        assert!(buf.chunks(3).all(|p| p != PACE && p != OVER));
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
