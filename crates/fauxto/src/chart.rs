//! Small PNG charts that read at a glance: grouped bar charts, histograms with an optional
//! threshold marker, and captioned grids of images.
//!
//! Text uses the public-domain 8×8 glyphs of `font8x8` scaled by a whole factor (ASCII only;
//! other characters show as `?`), so charts look the same everywhere and need no font files.

use image::{Rgb, RgbImage};

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const TEXT: Rgb<u8> = Rgb([33, 33, 33]);
const AXIS: Rgb<u8> = Rgb([90, 90, 90]);
const GRID: Rgb<u8> = Rgb([228, 228, 228]);
const MARKER: Rgb<u8> = Rgb([200, 30, 45]);
/// Series colours as 0xRRGGBB, used in order and repeated past the eighth series.
const PALETTE: [u32; 8] = [
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0x9467bd, 0x8c564b, 0xe377c2, 0x17becf, 0xbcbd22,
];

/// Pixels between panels, and around the edge, in [`panel_grid`].
pub const PANEL_GAP: u32 = 6;

/// One named row of values in a [`BarChart`], one value per category.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Name shown in the legend.
    pub name: String,
    /// Values in category order; missing, negative or non-finite values draw as 0.
    pub values: Vec<f64>,
}

/// A grouped bar chart: one group per category, one bar per series, y axis from 0.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Line on top of the chart.
    pub title: String,
    /// Line under the category labels.
    pub x_label: String,
    /// Line above the y axis.
    pub y_label: String,
    /// Group labels, left to right.
    pub categories: Vec<String>,
    /// Bars of each group, left to right, each in its own colour.
    pub series: Vec<Series>,
}

/// A histogram over `range`, split into `counts.len()` equal bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Line on top of the chart.
    pub title: String,
    /// Line under the x tick labels.
    pub x_label: String,
    /// Line above the y axis.
    pub y_label: String,
    /// Lower edge of the first bin and upper edge of the last.
    pub range: (f64, f64),
    /// Height of each bin, as from [`histogram`].
    pub counts: Vec<f64>,
    /// A vertical line at this x value with its label, e.g. `(0.6, "threshold 0.6")`.
    pub marker: Option<(f64, String)>,
}

/// Counts `values` into `bins` equal bins over `range` (lower edges inclusive, the last bin
/// also holds the upper edge). Values below the range count in the first bin, values above
/// it in the last; NaN is skipped. Returns an empty vector when `bins` is 0.
pub fn histogram(values: &[f64], bins: usize, range: (f64, f64)) -> Vec<f64> {
    let mut counts = vec![0.0; bins];
    let (lo, hi) = range;
    for &v in values.iter().filter(|v| !v.is_nan() && bins > 0) {
        let i = match v {
            v if v < lo => 0,
            v if v >= hi => bins - 1,
            v => (((v - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1),
        };
        counts[i] += 1.0;
    }
    counts
}

/// Formats a number compactly for a label: `0`, `0.25`, `12`, `1.2k`, `3.5M`, `1e-4`.
pub fn format_number(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || a >= 1e9 || (a < 1e-3 && a > 0.0) {
        return format!("{v:.0e}");
    }
    if a >= 1e6 {
        return format!("{}M", format_number(v / 1e6));
    }
    if a >= 1e3 {
        return format!("{}k", format_number(v / 1e3));
    }
    // Three significant digits at most: 3 decimals below 1, none from 100 on.
    let decimals = 3 - [1.0, 10.0, 100.0].iter().filter(|&&t| a >= t).count() as i32;
    let p = 10f64.powi(decimals);
    // Adding 0.0 turns -0 into 0.
    format!("{}", (v * p).round() / p + 0.0)
}

/// Draws a grouped bar chart on a white `width`×`height` image.
pub fn render_bar_chart(chart: &BarChart, width: u32, height: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, WHITE);
    let s = text_scale(width, height);
    let (line, pad) = (8 * s as i64, 4 * s as i64);
    let value = |si: usize, ci: usize| {
        let v = chart.series[si].values.get(ci).copied();
        v.filter(|v| v.is_finite()).map_or(0.0, |v| v.max(0.0))
    };
    let (n_cat, n_ser) = (chart.categories.len(), chart.series.len());
    let y_max = (0..n_ser * n_cat).map(|i| value(i / n_cat, i % n_cat));
    let y_max = y_max.fold(0.0, f64::max);

    // Legend items as (series, name, x offset in its row), in rows that fit the width.
    let avail = width as i64 - 2 * margin(s);
    let mut rows: Vec<LegendRow> = Vec::new();
    for (si, series) in chart.series.iter().enumerate() {
        let name = fit(&series.name, (avail - line - pad).max(0) as u32, s);
        let item_w = line + pad + text_width(&name, s);
        match rows.last_mut() {
            Some((items, w)) if *w + 3 * pad + item_w <= avail => {
                items.push((si, name, *w + 3 * pad));
                *w += 3 * pad + item_w;
            }
            _ => rows.push((vec![(si, name, 0)], item_w)),
        }
    }
    let header_h = rows.len() as i64 * (line + pad);

    // Category labels share one scale: the chart's if all fit, else 1 (wrapped if need be).
    let (mut labels, mut ls) = (Vec::new(), s);
    let texts = [chart.title.as_str(), &chart.x_label, &chart.y_label];
    let plot = frame(&mut img, texts, y_max, header_h, 0, |left, right| {
        let max_w = ((right - left) / n_cat.max(1) as i64 - pad).max(0) as u32;
        let fits = |c: &String| text_width(c, s) <= max_w as i64;
        let (cats, all_fit) = (&chart.categories, chart.categories.iter().all(fits));
        ls = if all_fit { s } else { 1 };
        labels = cats.iter().map(|c| wrap(c, max_w, ls)).collect();
        let lines = labels.iter().map(Vec::len).max().unwrap_or(0) as i64;
        lines * (8 * ls as i64 + 2) + pad
    });

    for (r, (items, row_w)) in rows.iter().enumerate() {
        let x0 = (width as i64 - row_w) / 2;
        let y = margin(s) + line + pad + r as i64 * (line + pad);
        for (si, name, dx) in items {
            fill_rect(&mut img, x0 + dx, y, line, line, colour(*si));
            draw_text(&mut img, x0 + dx + line + pad, y, name, s, TEXT);
        }
    }

    let group_w = plot.width() as f64 / n_cat.max(1) as f64;
    let bar_w = group_w * 0.8 / n_ser.max(1) as f64;
    for (ci, lines) in labels.iter().enumerate() {
        let gx = plot.left as f64 + ci as f64 * group_w;
        for si in 0..n_ser {
            let x0 = (gx + group_w * 0.1 + si as f64 * bar_w).round() as i64;
            let x1 = (gx + group_w * 0.1 + (si + 1) as f64 * bar_w).round() as i64;
            // A 1-pixel gap between neighbouring bars when they are wide enough.
            let w = (x1 - x0 - i64::from(x1 - x0 > 3)).max(1);
            let y = plot.y(value(si, ci));
            fill_rect(&mut img, x0, y, w, plot.bottom - y, colour(si));
        }
        let cx = (gx + group_w / 2.0).round() as i64;
        for (k, text) in lines.iter().enumerate() {
            let y = plot.bottom + tick(s) + pad + k as i64 * (8 * ls as i64 + 2);
            draw_text_centered(&mut img, cx, y, text, ls, TEXT);
        }
    }
    plot.draw_axes(&mut img);
    img
}

/// Draws a histogram with contiguous bars, x ticks at bin edges and the optional marker on
/// a white `width`×`height` image. An empty or reversed range is drawn as `lo..lo + 1`.
pub fn render_histogram(h: &Histogram, width: u32, height: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, WHITE);
    let s = text_scale(width, height);
    let (line, pad) = (8 * s as i64, 4 * s as i64);
    let (lo, hi) = match h.range {
        (lo, hi) if lo.is_finite() && hi.is_finite() && hi > lo => (lo, hi),
        (lo, _) if lo.is_finite() => (lo, lo + 1.0),
        _ => (0.0, 1.0),
    };
    let bins = h.counts.len();
    let edge = |i: usize| lo + (hi - lo) * i as f64 / bins.max(1) as f64;
    let label_w = (0..=bins).map(|i| text_width(&format_number(edge(i)), s));
    let label_w = label_w.max().unwrap_or(0);
    let counts = h.counts.iter().copied().filter(|c| c.is_finite());
    let y_max = counts.fold(0.0, f64::max);
    let texts = [h.title.as_str(), &h.x_label, &h.y_label];
    let plot = frame(&mut img, texts, y_max, 0, label_w / 2, |_, _| line + pad);
    let x_of = |v: f64| plot.left + ((v - lo) / (hi - lo) * plot.width() as f64).round() as i64;

    for (i, &c) in h.counts.iter().enumerate() {
        let (x0, x1, y) = (x_of(edge(i)), x_of(edge(i + 1)), plot.y(c));
        fill_rect(&mut img, x0, y, x1 - x0, plot.bottom - y, colour(0));
    }

    // Label every k-th edge, as many as fit, preferring a k that also labels the last edge.
    let fits = (plot.width() / (label_w + 2 * line).max(1)).max(1) as usize;
    let k0 = bins.div_ceil(fits).max(1);
    let k = (k0..=2 * k0)
        .find(|&k| bins.is_multiple_of(k))
        .unwrap_or(k0);
    for i in (0..=bins.max(1)).step_by(k) {
        let (x, y) = (x_of(edge(i)), plot.bottom + tick(s) + pad);
        fill_rect(&mut img, x, plot.bottom, s as i64, tick(s), AXIS);
        draw_text_centered(&mut img, x, y, &format_number(edge(i)), s, TEXT);
    }

    if let Some((v, label)) = h.marker.as_ref().filter(|m| m.0.is_finite()) {
        let (x, lw) = (x_of(v.clamp(lo, hi)), (2 * s as i64).max(2));
        let plot_h = plot.bottom - plot.top;
        fill_rect(&mut img, x - lw / 2, plot.top, lw, plot_h, MARKER);
        // The label goes right of the line where it fits, else left, on a white patch.
        let text = fit(label, plot.width() as u32, s);
        let tw = text_width(&text, s);
        let right_fits = x + pad + tw <= plot.right;
        let left_x = (x - pad - tw).max(0);
        let tx = if right_fits { x + pad } else { left_x };
        let (bx, bw, bh) = (tx - s as i64, tw + 2 * s as i64, line + 2 * s as i64);
        fill_rect(&mut img, bx, plot.top, bw, bh, WHITE);
        draw_text(&mut img, tx, plot.top + s as i64, &text, s, MARKER);
    }
    plot.draw_axes(&mut img);
    img
}

/// Lays `panels` out left to right, top to bottom, `columns` to a row, with `captions[i]` (if
/// any) centred on a line under panel `i`. Cells take the size of the largest panel; smaller
/// panels are centred in theirs. With no panels the result is a small blank image.
pub fn panel_grid(panels: &[RgbImage], captions: &[String], columns: usize) -> RgbImage {
    let cell_w = panels.iter().map(|p| p.width()).max().unwrap_or(0);
    let cell_h = panels.iter().map(|p| p.height()).max().unwrap_or(0);
    let s = if cell_w >= 192 { 2 } else { 1 };
    let caption_h = 8 * s + PANEL_GAP;
    let cols = columns.clamp(1, panels.len().max(1)) as u32;
    let rows = panels.len().div_ceil(cols as usize) as u32;
    let w = cols * cell_w + (cols + 1) * PANEL_GAP;
    let h = rows * (cell_h + caption_h) + (rows + 1) * PANEL_GAP;
    let mut out = RgbImage::from_pixel(w, h, WHITE);
    for (i, panel) in panels.iter().enumerate() {
        let (c, r) = (i as u32 % cols, i as u32 / cols);
        let x = PANEL_GAP + c * (cell_w + PANEL_GAP);
        let y = PANEL_GAP + r * (cell_h + caption_h + PANEL_GAP);
        let px = x + (cell_w - panel.width()) / 2;
        let py = y + (cell_h - panel.height()) / 2;
        image::imageops::replace(&mut out, panel, px as i64, py as i64);
        if let Some(caption) = captions.get(i) {
            let text = fit(caption, cell_w, s);
            let (cx, ty) = ((x + cell_w / 2) as i64, (y + cell_h + PANEL_GAP / 2) as i64);
            draw_text_centered(&mut out, cx, ty, &text, s, TEXT);
        }
    }
    out
}

/// Text scale: 2 for images large enough to afford it, else 1.
fn text_scale(width: u32, height: u32) -> u32 {
    1 + u32::from(width >= 640 && height >= 400)
}

fn margin(s: u32) -> i64 {
    8 * s as i64
}

fn tick(s: u32) -> i64 {
    3 * s as i64
}

fn colour(series: usize) -> Rgb<u8> {
    let [_, r, g, b] = PALETTE[series % PALETTE.len()].to_be_bytes();
    Rgb([r, g, b])
}

/// Top, step and step count of a y axis from 0 that covers `max` in 3 to 5 round steps.
fn nice_axis(max: f64) -> (f64, f64, usize) {
    let max = Some(max).filter(|m| m.is_finite() && *m > 0.0);
    let max = max.unwrap_or(1.0);
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let steps = [1.0, 2.0, 2.5, 5.0, 10.0].map(|m| m * mag);
    let step = steps.into_iter().find(|st| *st >= raw * (1.0 - 1e-9));
    let step = step.unwrap_or(10.0 * mag);
    let n = (max / step - 1e-9).ceil().max(1.0);
    (n * step, step, n as usize)
}

/// One row of a legend: its items as (series, name, x offset in the row), and its width.
type LegendRow = (Vec<(usize, String, i64)>, i64);

/// The plot area in pixels and the top of its y axis.
struct Plot {
    left: i64,
    top: i64,
    right: i64,
    bottom: i64,
    y_top: f64,
    scale: u32,
}

impl Plot {
    fn width(&self) -> i64 {
        (self.right - self.left).max(1)
    }

    /// Pixel row of value `v` (clamped to the axis).
    fn y(&self, v: f64) -> i64 {
        let f = (v / self.y_top).clamp(0.0, 1.0);
        self.bottom - (f * (self.bottom - self.top).max(0) as f64).round() as i64
    }

    fn draw_axes(&self, img: &mut RgbImage) {
        let (s, x, h) = (self.scale as i64, self.left, self.bottom - self.top);
        fill_rect(img, x - s, self.top, s, h + s, AXIS);
        fill_rect(img, x - s, self.bottom, self.width() + s, s, AXIS);
    }
}

/// Draws the title, the y label, the y ticks with their grid lines and the x label, and
/// returns the plot area. `header_h` is kept free under the title (for a legend),
/// `right_pad` right of the plot, and `footer(left, right)` says how much room the x tick
/// labels need under the axis.
fn frame(
    img: &mut RgbImage,
    [title, x_label, y_label]: [&str; 3],
    y_max: f64,
    header_h: i64,
    right_pad: i64,
    footer: impl FnOnce(i64, i64) -> i64,
) -> Plot {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let s = text_scale(img.width(), img.height());
    let (line, pad, m) = (8 * s as i64, 4 * s as i64, margin(s));
    let (y_top, step, n) = nice_axis(y_max);
    let ticks: Vec<String> = (0..=n).map(|i| format_number(i as f64 * step)).collect();
    let tick_w = ticks.iter().map(|t| text_width(t, s)).max().unwrap_or(0);
    let y_label_y = m + line + pad + header_h;
    let left = m + tick_w + pad + tick(s);
    let right = (w - m - right_pad).max(left + 1);
    let footer_h = footer(left, right);
    let top = y_label_y + line + pad + line / 2;
    let bottom = (h - m - line - pad - footer_h - tick(s)).max(top + 1);
    let scale = s;
    let plot = Plot {
        left,
        top,
        right,
        bottom,
        y_top,
        scale,
    };

    let inner = (w - 2 * m).max(0) as u32;
    let centre = (left + right) / 2;
    draw_text_centered(img, w / 2, m, &fit(title, inner, s), s, TEXT);
    draw_text(img, m, y_label_y, &fit(y_label, inner, s), s, TEXT);
    draw_text_centered(img, centre, h - m - line, &fit(x_label, inner, s), s, TEXT);
    for (i, label) in ticks.iter().enumerate() {
        let y = plot.y(i as f64 * step);
        if i > 0 {
            fill_rect(img, left, y, right - left, 1, GRID);
        }
        fill_rect(img, left - tick(s), y, tick(s), s as i64, AXIS);
        let x = left - tick(s) - pad - text_width(label, s);
        draw_text(img, x, y - line / 2, label, s, TEXT);
    }
    plot
}

/// Fits `text` into `max_w` pixels at scale `s`: on one line if it fits, else on two (broken
/// at a space where possible, the second line shortened with "..").
fn wrap(text: &str, max_w: u32, s: u32) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let per = (max_w / (8 * s)) as usize;
    if chars.len() <= per || per == 0 {
        return vec![fit(text, max_w, s)];
    }
    let space = chars[..per].iter().rposition(|c| *c == ' ');
    let cut = space.filter(|&p| p > 0).unwrap_or(per);
    let first: String = chars[..cut].iter().collect();
    let rest: String = chars[cut..].iter().collect();
    vec![first.trim_end().into(), fit(rest.trim_start(), max_w, s)]
}

/// Shortens `text` with a trailing ".." so that it is at most `max_w` pixels wide.
fn fit(text: &str, max_w: u32, s: u32) -> String {
    let max_chars = (max_w / (8 * s)) as usize;
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    if max_chars < 3 {
        return text.chars().take(max_chars).collect();
    }
    let head: String = text.chars().take(max_chars - 2).collect();
    head + ".."
}

fn text_width(text: &str, s: u32) -> i64 {
    text.chars().count() as i64 * 8 * s as i64
}

/// Draws `text` with its top-left corner at (x, y), each font pixel an `s`×`s` square.
fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, s: u32, color: Rgb<u8>) {
    let s = s as i64;
    for (n, c) in text.chars().enumerate() {
        let code = if c.is_ascii() { c } else { '?' } as usize;
        for (row, bits) in font8x8::legacy::BASIC_LEGACY[code].iter().enumerate() {
            for col in (0..8).filter(|col| bits >> col & 1 == 1) {
                let (px, py) = (x + (n as i64 * 8 + col) * s, y + row as i64 * s);
                fill_rect(img, px, py, s, s, color);
            }
        }
    }
}

fn draw_text_centered(img: &mut RgbImage, cx: i64, y: i64, text: &str, s: u32, c: Rgb<u8>) {
    draw_text(img, cx - text_width(text, s) / 2, y, text, s, c);
}

/// Fills a rectangle, clipped to the image.
fn fill_rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, color: Rgb<u8>) {
    let (x0, y0) = (x.max(0), y.max(0));
    let x1 = (x + w).min(img.width() as i64);
    let y1 = (y + h).min(img.height() as i64);
    for py in y0..y1 {
        for px in x0..x1 {
            img.put_pixel(px as u32, py as u32, color);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(img: &RgbImage, color: Rgb<u8>) -> usize {
        img.pixels().filter(|p| **p == color).count()
    }

    fn dark(img: &RgbImage, xs: std::ops::Range<u32>, ys: std::ops::Range<u32>) -> Vec<u32> {
        let cells = ys.flat_map(|y| xs.clone().map(move |x| (x, y)));
        let is_dark = |&(x, y): &(u32, u32)| img.get_pixel(x, y).0.iter().all(|&c| c < 100);
        cells.filter(is_dark).map(|(x, _)| x).collect()
    }

    fn bars(title: &str, big: f64, small: f64) -> BarChart {
        let series = |name: &str, v: f64| Series {
            name: name.into(),
            values: vec![v, 1.0],
        };
        BarChart {
            title: title.into(),
            x_label: "model".into(),
            y_label: "accuracy".into(),
            categories: vec!["a rather long category name".into(), "b".into()],
            series: vec![series("first", big), series("second", small)],
        }
    }

    fn hist(marker: Option<(f64, String)>) -> Histogram {
        let counts = histogram(&[0.1, 0.2, 0.2, 0.7], 10, (0.0, 1.0));
        let (title, x_label, y_label) = ("scores".into(), "score".into(), "count".into());
        let range = (0.0, 1.0);
        Histogram {
            title,
            x_label,
            y_label,
            range,
            counts,
            marker,
        }
    }

    #[test]
    fn histogram_bins_edges_and_outliers() {
        let values = [0.0, 0.1, 0.25, 0.5, 0.99, 1.0, -3.0, 7.0, f64::NAN];
        let counts = histogram(&values, 4, (0.0, 1.0));
        assert_eq!(counts, vec![3.0, 1.0, 1.0, 3.0]);
        assert!(histogram(&values, 0, (0.0, 1.0)).is_empty());
        let many: Vec<f64> = (0..1000).map(|i| i as f64 / 999.0 * 2.0 - 0.5).collect();
        let counts = histogram(&many, 7, (0.0, 1.0));
        assert_eq!(counts.iter().sum::<f64>(), 1000.0);
        assert!(counts[0] > counts[1] && counts[6] > counts[5], "{counts:?}");
    }

    #[test]
    fn numbers_and_axes_are_compact() {
        let got = [0.25, 12.0, 1200.0, 0.0, 3.5e6, 100.0, -0.5, 0.3, 1e-4];
        let got: Vec<String> = got.map(format_number).to_vec();
        let want = [
            "0.25", "12", "1.2k", "0", "3.5M", "100", "-0.5", "0.3", "1e-4",
        ];
        assert_eq!(got, want);
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        for max in [0.003, 0.7, 1.0, 3.0, 7.0, 12.0, 99.0, 101.0, 4321.0] {
            let (top, step, n) = nice_axis(max);
            assert!(
                top >= max && top - step < max,
                "{max}: top {top} step {step}"
            );
            assert!((3..=5).contains(&n), "{max}: {n} steps");
        }
    }

    #[test]
    fn rendered_images_have_the_requested_size() {
        for (w, h) in [(800, 500), (320, 200), (40, 30), (1, 1)] {
            assert_eq!(
                render_bar_chart(&bars("t", 3.0, 1.0), w, h).dimensions(),
                (w, h)
            );
            let marker = Some((0.6, "threshold 0.6".to_string()));
            assert_eq!(render_histogram(&hist(marker), w, h).dimensions(), (w, h));
        }
    }

    #[test]
    fn larger_value_draws_a_taller_bar() {
        let img = render_bar_chart(&bars("t", 8.0, 2.0), 640, 400);
        let (big, small) = (count(&img, colour(0)), count(&img, colour(1)));
        assert!(small > 0 && big > 2 * small, "big {big} small {small}");
        let img = render_bar_chart(&bars("t", 2.0, 8.0), 640, 400);
        assert!(count(&img, colour(1)) > 2 * count(&img, colour(0)));
    }

    #[test]
    fn title_text_is_drawn_where_the_title_goes() {
        let (w, h) = (800, 500);
        let top = margin(text_scale(w, h)) as u32;
        let band = |title: &str| {
            let img = render_bar_chart(&bars(title, 1.0, 2.0), w, h);
            dark(&img, 0..w, top..top + 8 * text_scale(w, h))
        };
        assert!(band("").is_empty());
        let with = band("Accuracy by model");
        assert!(with.len() > 100, "{} dark pixels", with.len());
        let centre = (with.iter().min().unwrap() + with.iter().max().unwrap()) / 2;
        assert!(centre.abs_diff(w / 2) <= 8, "title centred at {centre}");
    }

    #[test]
    fn histogram_marker_is_drawn_at_its_value() {
        assert_eq!(count(&render_histogram(&hist(None), 400, 300), MARKER), 0);
        let img = render_histogram(&hist(Some((0.75, "threshold 0.75".into()))), 400, 300);
        let in_column = |x: u32, c| (0..300).filter(|&y| img.get_pixel(x, y) == &c).count();
        let in_row = |y: u32, c| (0..400).filter(|&x| img.get_pixel(x, y) == &c).count();
        let marker_x = (0..400).max_by_key(|&x| in_column(x, MARKER)).unwrap();
        // The x axis is the row with the most axis pixels; it spans the plot width.
        let axis_y = (0..300).max_by_key(|&y| in_row(y, AXIS)).unwrap();
        let on_axis: Vec<u32> = (0..400)
            .filter(|&x| img.get_pixel(x, axis_y) == &AXIS)
            .collect();
        let (left, right) = (on_axis[0] + 1, on_axis[on_axis.len() - 1] + 1);
        let expected = left as f64 + 0.75 * (right - left) as f64;
        assert!(
            (marker_x as f64 - expected).abs() <= 2.0,
            "at {marker_x}, not {expected}"
        );
        assert!(in_column(marker_x, MARKER) > 100);
    }

    #[test]
    fn panel_grid_size_and_placement() {
        let colour_of = |i: u8| Rgb([40 * i, 200 - 40 * i, 150]);
        let panels: Vec<RgbImage> = (0..5)
            .map(|i| RgbImage::from_pixel(32, 24, colour_of(i)))
            .collect();
        let captions = ["0.41", "0.52", "0.60", "0.77", "0.80"].map(String::from);
        let grid = panel_grid(&panels, &captions, 2);
        // 2 columns × 3 rows of 32×24 cells, each with a 14-pixel caption line, 6-pixel gaps.
        assert_eq!(grid.dimensions(), (2 * 32 + 3 * 6, 3 * (24 + 14) + 4 * 6));
        // Second panel: top-left at (44, 6), bottom-right at (75, 29), then the gap.
        assert_eq!(grid.get_pixel(44, 6), &colour_of(1));
        assert_eq!(grid.get_pixel(75, 29), &colour_of(1));
        assert_eq!(grid.get_pixel(76, 29), &WHITE);
        assert_eq!(grid.get_pixel(6, 6 + 2 * (24 + 14 + 6)), &colour_of(4));
        let caption = dark(&grid, 6..38, 30..44).len();
        assert!(caption > 10, "caption under the first panel: {caption}");
        assert_eq!(panel_grid(&panels, &captions, 10).width(), 5 * 32 + 6 * 6);
    }
}
