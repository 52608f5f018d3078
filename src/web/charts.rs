//! Small server-rendered SVG charts: lines with a target band, and the age histogram. Colours
//! and strokes come from classes in the stylesheet (the CSP allows no inline style).

use chrono::NaiveDate;
use maud::{Markup, html};

use crate::config::Target;
use crate::metrics::AgeBuckets;

struct Frame {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn plot_w(&self) -> f64 {
        self.w - self.left - self.right
    }
    fn plot_h(&self) -> f64 {
        self.h - self.top - self.bottom
    }
    fn x(&self, i: usize, n: usize) -> f64 {
        if n <= 1 {
            return self.left + self.plot_w() / 2.0;
        }
        self.left + self.plot_w() * i as f64 / (n - 1) as f64
    }
    fn y(&self, v: f64, max: f64) -> f64 {
        self.top + self.plot_h() * (1.0 - (v / max).clamp(0.0, 1.0))
    }
}

/// A round upper bound for the y axis: 1, 2, 2.5, 5 or 10 times a power of ten.
pub fn nice_max(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

fn fmt_tick(v: f64) -> String {
    if v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Runs of consecutive present values, as SVG polyline point lists.
fn runs(f: &Frame, values: &[Option<f64>], max: f64) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                cur.push_str(&format!("{:.1},{:.1} ", f.x(i, values.len()), f.y(*v, max)));
            }
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn chart(
    title: &str,
    dates: &[NaiveDate],
    series: &[(&str, &[Option<f64>])],
    target: Option<&Target>,
    f: Frame,
    decimals: usize,
) -> Markup {
    let data_max = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0f64, |a, b| a.max(*b));
    let target_max = target.map_or(0.0, |t| t.max.or(t.min).unwrap_or(0.0));
    // A percentage never needs an axis beyond 100.
    let top = nice_max(data_max.max(target_max) * 1.05);
    let max = if title.contains('%') && data_max <= 100.0 {
        top.min(100.0)
    } else {
        top
    };
    let n = dates.len();
    let last = series
        .first()
        .and_then(|(_, v)| v.iter().rev().flatten().next().copied());
    let label = |d: &NaiveDate| d.format("%b %y").to_string();
    html! {
        figure class="chart" {
            figcaption {
                span class="ctitle" { (title) }
                @if series.len() == 1 {
                    @if let Some(v) = last { span class="clast" { (format!("{v:.decimals$}")) } }
                }
            }
            svg viewBox={"0 0 " (f.w) " " (f.h)} role="img" aria-label=(title) preserveAspectRatio="none" {
                @if let Some(t) = target {
                    @match (t.min, t.max) {
                        (Some(lo), Some(hi)) => {
                            rect class="band" x=(f.left) width=(f.plot_w()) y=(format!("{:.1}", f.y(hi, max))) height=(format!("{:.1}", (f.y(lo, max) - f.y(hi, max)).max(0.0))) {}
                        }
                        (Some(v), None) | (None, Some(v)) => {
                            line class="target" x1=(f.left) x2=(f.left + f.plot_w()) y1=(format!("{:.1}", f.y(v, max))) y2=(format!("{:.1}", f.y(v, max))) {}
                        }
                        _ => {}
                    }
                }
                @for tick in [0.0, max / 2.0, max] {
                    line class="grid" x1=(f.left) x2=(f.left + f.plot_w()) y1=(format!("{:.1}", f.y(tick, max))) y2=(format!("{:.1}", f.y(tick, max))) {}
                    text class="tick" x=(f.left - 4.0) y=(format!("{:.1}", f.y(tick, max) + 4.0)) text-anchor="end" { (fmt_tick(tick)) }
                }
                @if n > 0 {
                    text class="tick" x=(f.left) y=(f.h - 4.0) text-anchor="start" { (label(&dates[0])) }
                    text class="tick" x=(f.left + f.plot_w()) y=(f.h - 4.0) text-anchor="end" { (label(&dates[n - 1])) }
                }
                @for (i, (_, values)) in series.iter().enumerate() {
                    @for pts in runs(&f, values, max) {
                        polyline class={"line s" (i)} points=(pts) {}
                    }
                }
            }
            @if series.len() > 1 {
                div class="legend" {
                    @for (i, (name, _)) in series.iter().enumerate() {
                        span class={"key s" (i)} { (name) }
                    }
                }
            }
        }
    }
}

/// A small chart for the board.
pub fn line_chart(
    title: &str,
    dates: &[NaiveDate],
    series: &[(&str, &[Option<f64>])],
    target: Option<&Target>,
    decimals: usize,
) -> Markup {
    chart(
        title,
        dates,
        series,
        target,
        Frame {
            w: 320.0,
            h: 130.0,
            left: 30.0,
            right: 6.0,
            top: 8.0,
            bottom: 18.0,
        },
        decimals,
    )
}

/// A wide chart for the trends page.
pub fn line_chart_wide(
    title: &str,
    dates: &[NaiveDate],
    series: &[(&str, &[Option<f64>])],
    target: Option<&Target>,
) -> Markup {
    chart(
        title,
        dates,
        series,
        target,
        Frame {
            w: 900.0,
            h: 240.0,
            left: 44.0,
            right: 10.0,
            top: 10.0,
            bottom: 20.0,
        },
        1,
    )
}

/// The age profile of open orders as four bars with their counts.
pub fn age_histogram(a: &AgeBuckets) -> Markup {
    let buckets = [
        ("0–7 d", a.d0_7),
        ("8–30 d", a.d8_30),
        ("31–90 d", a.d31_90),
        ("91+ d", a.d91),
    ];
    let max = buckets.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let (w, h, base) = (320.0, 130.0, 108.0);
    let bw = w / 4.0;
    html! {
        svg class="histogram" viewBox={"0 0 " (w) " " (h)} role="img" aria-label="Open orders by age" {
            @for (i, (label, n)) in buckets.iter().enumerate() {
                @let bh = (base - 16.0) * (*n as f64 / max);
                rect class={"bar b" (i)} x=(format!("{:.1}", i as f64 * bw + 8.0)) width=(format!("{:.1}", bw - 16.0)) y=(format!("{:.1}", base - bh)) height=(format!("{:.1}", bh)) {}
                text class="count" x=(format!("{:.1}", i as f64 * bw + bw / 2.0)) y=(format!("{:.1}", base - bh - 4.0)) text-anchor="middle" { (n) }
                text class="tick" x=(format!("{:.1}", i as f64 * bw + bw / 2.0)) y=(h - 6.0) text-anchor="middle" { (label) }
            }
        }
    }
}

/// One bar of a Pareto chart as drawn: its label, value, cumulative share, whether it is in
/// the vital few, and where it links.
pub struct ParetoBar<'a> {
    pub label: &'a str,
    pub value: f64,
    pub cumulative_pct: f64,
    pub vital_few: bool,
    pub href: String,
}

/// At most this many bars are drawn; the table beside the chart lists the rest.
pub const PARETO_BARS: usize = 30;

/// A Pareto chart: bars largest first (the vital few darker), the cumulative share as a line on
/// a 0–100 % axis at the right, and the 80 % line. Each bar links to its page; beyond
/// [`PARETO_BARS`] the rest are one bar, "others", so the line still ends at 100 %.
pub fn pareto_chart(title: &str, unit: &str, bars: &[ParetoBar<'_>]) -> Markup {
    let f = Frame {
        w: 900.0,
        h: 280.0,
        left: 48.0,
        right: 40.0,
        top: 12.0,
        bottom: 70.0,
    };
    let others_label;
    let shown: Vec<ParetoBar<'_>> = if bars.len() > PARETO_BARS {
        let rest = &bars[PARETO_BARS - 1..];
        others_label = format!("{} others", rest.len());
        let mut v: Vec<ParetoBar<'_>> = bars[..PARETO_BARS - 1]
            .iter()
            .map(|b| ParetoBar {
                href: b.href.clone(),
                ..*b
            })
            .collect();
        v.push(ParetoBar {
            label: &others_label,
            value: rest.iter().map(|b| b.value).sum(),
            cumulative_pct: 100.0,
            vital_few: false,
            href: "#others".into(),
        });
        v
    } else {
        bars.iter()
            .map(|b| ParetoBar {
                href: b.href.clone(),
                ..*b
            })
            .collect()
    };
    let max = nice_max(shown.iter().map(|b| b.value).fold(0.0, f64::max));
    let n = shown.len().max(1);
    let slot = f.plot_w() / n as f64;
    let pct_y = |p: f64| f.y(p, 100.0);
    let cum: String = shown
        .iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                "{:.1},{:.1} ",
                f.left + slot * (i as f64 + 0.5),
                pct_y(b.cumulative_pct)
            )
        })
        .collect();
    html! {
        figure class="chart pareto" {
            figcaption { span class="ctitle" { (title) } }
            svg viewBox={"0 0 " (f.w) " " (f.h)} role="img" aria-label=(title) {
                @for tick in [0.0, max / 2.0, max] {
                    line class="grid" x1=(f.left) x2=(f.left + f.plot_w()) y1=(format!("{:.1}", f.y(tick, max))) y2=(format!("{:.1}", f.y(tick, max))) {}
                    text class="tick" x=(f.left - 4.0) y=(format!("{:.1}", f.y(tick, max) + 4.0)) text-anchor="end" { (fmt_tick(tick)) }
                }
                @for p in [0.0, 50.0, 100.0] {
                    text class="tick" x=(f.w - f.right + 4.0) y=(format!("{:.1}", pct_y(p) + 4.0)) text-anchor="start" { (format!("{p:.0} %")) }
                }
                @for (i, b) in shown.iter().enumerate() {
                    @let x = f.left + slot * i as f64;
                    @let y = f.y(b.value, max);
                    a href=(b.href) {
                        rect class={"bar" @if b.vital_few { " vital" }} x=(format!("{:.1}", x + slot * 0.1)) width=(format!("{:.1}", slot * 0.8)) y=(format!("{:.1}", y)) height=(format!("{:.1}", (f.top + f.plot_h() - y).max(0.0))) {
                            title { (b.label) ": " (fmt_tick(b.value)) " " (unit) ", " (format!("{:.0}", b.cumulative_pct)) " % cumulative" }
                        }
                    }
                    text class="tick bar-label" transform=(format!("translate({:.1},{:.1}) rotate(-45)", x + slot * 0.6, f.top + f.plot_h() + 10.0)) text-anchor="end" { (b.label.chars().take(22).collect::<String>()) }
                }
                line class="cut" x1=(f.left) x2=(f.left + f.plot_w()) y1=(format!("{:.1}", pct_y(80.0))) y2=(format!("{:.1}", pct_y(80.0))) {}
                text class="tick cut-label" x=(f.left + f.plot_w() - 2.0) y=(format!("{:.1}", pct_y(80.0) - 3.0)) text-anchor="end" { "80 %" }
                polyline class="line cumulative" points=(cum) {}
            }
        }
    }
}

/// A mark on an asset's timeline.
pub struct Mark {
    /// UTC milliseconds.
    pub at: i64,
    /// `breakdown`, `pm` or `repair`: its class and shape.
    pub class: &'static str,
    pub label: String,
    pub href: String,
}

/// A strip of the orders of an asset over `[from, to)` (UTC milliseconds), one row per class:
/// breakdowns, repairs and planned work, PMs; with the months marked.
pub fn timeline(from: i64, to: i64, months: &[(i64, String)], marks: &[Mark]) -> Markup {
    let (w, left, right) = (900.0, 80.0, 10.0);
    let rows = [
        ("breakdown", "Breakdowns"),
        ("repair", "Other work"),
        ("pm", "PMs"),
    ];
    let h = 24.0 * rows.len() as f64 + 22.0;
    let x = |t: i64| left + (w - left - right) * ((t - from) as f64 / (to - from).max(1) as f64);
    html! {
        svg class="timeline" viewBox={"0 0 " (w) " " (h)} role="img" aria-label="The asset's orders over twelve months" {
            @for (i, (class, name)) in rows.iter().enumerate() {
                @let y = 14.0 + 24.0 * i as f64;
                text class="tick" x="2" y=(format!("{:.1}", y + 4.0)) { (name) }
                line class="grid" x1=(left) x2=(w - right) y1=(y) y2=(y) {}
                @for m in marks.iter().filter(|m| m.class == *class) {
                    a href=(m.href) {
                        circle class={"mark " (class)} cx=(format!("{:.1}", x(m.at))) cy=(y) r="5" {
                            title { (m.label) }
                        }
                    }
                }
            }
            @for (t, label) in months {
                line class="month" x1=(format!("{:.1}", x(*t))) x2=(format!("{:.1}", x(*t))) y1="4" y2=(h - 16.0) {}
                text class="tick" x=(format!("{:.1}", x(*t) + 2.0)) y=(h - 4.0) { (label) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(3.7), 5.0);
        assert_eq!(nice_max(21.0), 25.0);
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(100.0), 100.0);
    }

    #[test]
    fn gaps_split_lines() {
        let f = Frame {
            w: 100.0,
            h: 100.0,
            left: 0.0,
            right: 0.0,
            top: 0.0,
            bottom: 0.0,
        };
        let r = runs(&f, &[Some(1.0), None, Some(2.0), Some(3.0)], 4.0);
        assert_eq!(r.len(), 2);
    }
}
