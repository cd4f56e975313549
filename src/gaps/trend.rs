//! Open gaps over the last twelve months: the as-of evaluation at the end of
//! each month, and today, drawn as a small SVG on the server.
use super::model::Counts;
use chrono::{Datelike, Duration, Months, NaiveDate};
use std::fmt::Write;

pub struct Point {
    pub day: NaiveDate,
    pub counts: Counts,
}

/// The last day of each of the twelve months before this one, then today.
pub fn days(today: NaiveDate) -> Vec<NaiveDate> {
    let first = today.with_day(1).unwrap_or(today);
    let mut out: Vec<NaiveDate> =
        (0..12u32).rev().filter_map(|k| first.checked_sub_months(Months::new(k)).map(|d| d - Duration::days(1))).collect();
    out.push(today);
    out
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;

/// The chart: all open gaps and the major ones, with the figures in the
/// SVG's title and description for screen readers.
pub fn svg(points: &[Point]) -> String {
    let max = points.iter().map(|p| p.counts.total()).max().unwrap_or(0).max(1);
    // A round top for the axis: 1, 2, 5, 10, 20, 50...
    let top = [1usize, 2, 5, 10, 20, 50, 100, 200, 500, 1000].into_iter().find(|t| *t >= max).unwrap_or(max);
    let step = if points.len() > 1 { (W - LEFT - RIGHT) / (points.len() - 1) as f64 } else { 0.0 };
    let x = |i: usize| LEFT + step * i as f64;
    let y = |v: usize| TOP + (H - TOP - BOTTOM) * (1.0 - v as f64 / top as f64);
    let line = |pick: fn(&Counts) -> usize| points.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(&p.counts)))).collect::<Vec<_>>().join(" ");

    let mut desc = String::new();
    for p in points {
        let _ = write!(desc, "{}: {} open, {} major. ", p.day, p.counts.total(), p.counts.major);
    }
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-labelledby="t d" font-family="sans-serif" font-size="11">"##
    );
    let _ = write!(out, r##"<title id="t">Open gaps over the last twelve months</title><desc id="d">{}</desc>"##, desc.trim_end());
    let _ = write!(out, r##"<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>"##);
    for v in [0, top / 2, top] {
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#d0d5dd" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#475467">{v}</text>"##,
            W - RIGHT,
            y(v),
            y(v),
            LEFT - 6.0,
            y(v) + 4.0
        );
    }
    for (i, p) in points.iter().enumerate() {
        let label = if i + 1 == points.len() { "now".to_string() } else { p.day.format("%b").to_string() };
        let _ = write!(out, r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#475467">{label}</text>"##, x(i), H - BOTTOM + 16.0);
    }
    let _ = write!(out, r##"<polyline points="{}" fill="none" stroke="#1d3b5a" stroke-width="2.5"/>"##, line(Counts::total));
    let _ = write!(out, r##"<polyline points="{}" fill="none" stroke="#b42318" stroke-width="2" stroke-dasharray="5 3"/>"##, line(|c| c.major));
    for (i, p) in points.iter().enumerate() {
        let _ = write!(out, r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#1d3b5a"/>"##, x(i), y(p.counts.total()));
    }
    let _ = write!(
        out,
        r##"<g transform="translate({LEFT},12)"><line x1="0" x2="18" y1="0" y2="0" stroke="#1d3b5a" stroke-width="2.5"/><text x="24" y="4" fill="#101828">All open gaps</text><line x1="120" x2="138" y1="0" y2="0" stroke="#b42318" stroke-width="2" stroke-dasharray="5 3"/><text x="144" y="4" fill="#101828">Major</text></g>"##
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_month_ends_then_today() {
        let today: NaiveDate = "2026-11-02".parse().unwrap();
        let d = days(today);
        assert_eq!(d.len(), 13);
        assert_eq!(d[0], "2025-11-30".parse::<NaiveDate>().unwrap());
        assert_eq!(d[11], "2026-10-31".parse::<NaiveDate>().unwrap());
        assert_eq!(d[12], today);
        let leap: NaiveDate = "2028-03-15".parse().unwrap();
        assert!(days(leap).contains(&"2028-02-29".parse().unwrap()));
    }

    #[test]
    fn the_chart_states_its_figures() {
        let points: Vec<Point> = days("2026-11-02".parse().unwrap())
            .into_iter()
            .enumerate()
            .map(|(i, day)| Point { day, counts: Counts { major: i % 3, minor: 12 - i, improvement: 1 } })
            .collect();
        let s = svg(&points);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("2026-10-31: 4 open, 2 major. 2026-11-02: 1 open, 0 major."), "{s}");
        assert_eq!(s.matches("<circle").count(), 13);
        assert!(!s.contains("NaN"));
        // An organisation without gaps still draws a flat line.
        let flat = svg(&[Point { day: "2026-11-02".parse().unwrap(), counts: Counts::default() }]);
        assert!(!flat.contains("NaN"));
    }
}
