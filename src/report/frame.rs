//! The plot frame (data rectangle, grid, ticks, labels), curves clipped and decimated into it,
//! and a legend/text box placed where it hides the least data (plotters' legends sit in a
//! fixed corner, whatever they cover).

use super::axes::*;
use super::canvas::{Align, CAP, Canvas, DESCENT, Rect, Rgb, Stroke, clip_segment};

/// The laid-out plot: its data rectangle in pixels and its axes.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub outer: Rect,
    pub plot: Rect,
    pub x: Axis,
    pub y: Axis,
    pub xticks: Vec<Tick>,
    pub yticks: Vec<Tick>,
    pub title: Option<String>,
    pub fonts: Fonts,
    pub show_x_labels: bool,
}

impl Frame {
    /// Lays out a plot inside `outer`: title on top, rotated y label and tick labels on the
    /// left, tick labels and x label below. Tick label widths are measured, so none is clipped.
    #[allow(clippy::too_many_arguments)]
    pub fn layout(
        c: &Canvas,
        outer: Rect,
        title: Option<String>,
        x: Axis,
        y: Axis,
        fonts: Fonts,
        show_x_labels: bool,
        lr: Option<(f64, f64)>,
    ) -> Frame {
        let f = fonts;
        let top = if title.is_some() {
            f.label * 1.55
        } else {
            f.tick * 0.7
        };
        let bottom = if show_x_labels {
            f.tick * 1.45 + f.label * 1.5
        } else {
            f.tick * 0.6
        };
        let plot_h = (outer.h() - top - bottom).max(10.0);
        let yticks = y.ticks(plot_h, f.tick, true);
        let ylab_w = yticks
            .iter()
            .filter_map(|t| t.label.as_ref())
            .map(|l| c.text_width(l, f.tick, false))
            .fold(0.0, f64::max);
        let left = f.label * 1.35 + ylab_w + f.tick * 0.5;
        let right_guess = f.tick * 1.6;
        let plot_w = (outer.w() - left - right_guess).max(10.0);
        let xticks = x.ticks(plot_w, f.tick, false);
        // the last label is centred on its tick: leave room for its right half
        let mut right = f.tick * 0.8;
        if let Some(t) = xticks
            .iter()
            .rev()
            .find(|t| t.label.is_some())
            .filter(|_| show_x_labels)
        {
            let frac = x.scale.frac(t.v);
            let half = c.text_width(t.label.as_ref().unwrap(), f.tick, false) / 2.0;
            let overhang = half - (1.0 - frac) * plot_w;
            right = right.max(overhang + f.tick * 0.3);
        }
        let plot = outer.inset(left, top, right, bottom);
        let mut plot = Rect::new(
            plot.x0.round(),
            plot.y0.round(),
            plot.x1.round().max(plot.x0.round() + 10.0),
            plot.y1.round().max(plot.y0.round() + 10.0),
        );
        let mut xticks = xticks;
        if let Some((x0, x1)) = lr {
            plot.x0 = x0;
            plot.x1 = x1.max(x0 + 10.0);
            xticks = x.ticks(plot.w(), f.tick, false);
        }
        Frame {
            outer,
            plot,
            x,
            y,
            xticks,
            yticks,
            title,
            fonts,
            show_x_labels,
        }
    }

    pub fn px(&self, v: f64) -> f64 {
        self.plot.x0 + self.x.scale.frac(v) * self.plot.w()
    }
    pub fn py(&self, v: f64) -> f64 {
        self.plot.y1 - self.y.scale.frac(v) * self.plot.h()
    }

    /// Data → pixel polylines: breaks at undefined points (and at jumps larger than
    /// `break_jump` in data units, for wrapped phase).
    pub fn runs(&self, xs: &[f64], ys: &[f64], break_jump: Option<f64>) -> Vec<Vec<(f64, f64)>> {
        let n = xs.len().min(ys.len());
        let mut out = Vec::new();
        let mut cur: Vec<(f64, f64)> = Vec::new();
        let mut prev_y = f64::NAN;
        let lim = 1e7;
        for i in 0..n {
            let (px, py) = (self.px(xs[i]), self.py(ys[i]));
            let ok = px.is_finite() && py.is_finite();
            let jump = match break_jump {
                Some(j) => (ys[i] - prev_y).abs() > j,
                None => false,
            };
            if (!ok || jump) && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if ok {
                cur.push((px.clamp(-lim, lim), py.clamp(-lim, lim)));
            }
            prev_y = ys[i];
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out.into_iter().map(decimate).collect()
    }

    /// Background, grid, title and axis labels (everything under the curves).
    pub fn draw_under(&self, c: &mut Canvas) -> Result<(), String> {
        let f = self.fonts;
        let p = self.plot;
        let g = f.grid();
        c.fill_rect(p, WHITE, 1.0);
        for pass in [false, true] {
            for t in self.xticks.iter().filter(|t| t.major == pass) {
                let x = self.px(t.v);
                if x.is_finite() && x > p.x0 + 0.5 && x < p.x1 - 0.5 {
                    c.vline(x, p.y0, p.y1, g, if pass { GRID_MAJOR } else { GRID_MINOR });
                }
            }
            for t in self.yticks.iter().filter(|t| t.major == pass) {
                let y = self.py(t.v);
                if y.is_finite() && y > p.y0 + 0.5 && y < p.y1 - 0.5 {
                    c.hline(p.x0, p.x1, y, g, if pass { GRID_MAJOR } else { GRID_MINOR });
                }
            }
        }
        Ok(())
    }

    /// Frame, tick marks, tick labels, axis labels and title (on top of the curves).
    pub fn draw_over(&self, c: &mut Canvas) -> Result<(), String> {
        let f = self.fonts;
        let p = self.plot;
        let g = f.grid();
        c.stroke_rect(Rect::new(p.x0 - g, p.y0 - g, p.x1 + g, p.y1 + g), g, FRAME);
        let tick_len = (f.tick * 0.35).round();
        // y tick labels, vertically centred on their tick (cap height centred)
        for t in &self.yticks {
            let y = self.py(t.v);
            if !y.is_finite() {
                continue;
            }
            if let Some(l) = &t.label {
                c.hline(p.x0 - tick_len, p.x0, y, g, FRAME);
                c.text(
                    l,
                    p.x0 - tick_len - f.tick * 0.25,
                    y + f.tick * CAP / 2.0,
                    f.tick,
                    TICK_INK,
                    Align::Right,
                    false,
                )?;
            }
        }
        // x tick labels: decades first, then the rest where they do not collide
        if self.show_x_labels {
            let mut placed: Vec<(f64, f64)> = Vec::new();
            let gap = f.tick * 0.6;
            let mut order: Vec<&Tick> = self.xticks.iter().filter(|t| t.label.is_some()).collect();
            order.sort_by_key(|t| {
                let m = t.v / 10f64.powf(t.v.abs().log10().floor());
                if (m - 1.0).abs() < 1e-6 { 0 } else { 1 }
            });
            for t in order {
                let x = self.px(t.v);
                if !x.is_finite() {
                    continue;
                }
                let l = t.label.as_ref().unwrap();
                let w = c.text_width(l, f.tick, false);
                let (a, b) = (x - w / 2.0, x + w / 2.0);
                if placed.iter().any(|&(pa, pb)| a < pb + gap && b > pa - gap) {
                    continue;
                }
                placed.push((a, b));
                c.vline(x, p.y1, p.y1 + tick_len, g, FRAME);
                c.text(
                    l,
                    x,
                    p.y1 + tick_len + f.tick * 0.15 + f.tick * CAP + f.tick * 0.2,
                    f.tick,
                    TICK_INK,
                    Align::Center,
                    false,
                )?;
            }
            if !self.x.label.is_empty() {
                c.text(
                    &self.x.label,
                    (p.x0 + p.x1) / 2.0,
                    p.y1 + f.tick * 1.45 + f.label * 1.05,
                    f.label,
                    INK,
                    Align::Center,
                    false,
                )?;
            }
        }
        if !self.y.label.is_empty() {
            c.text_vertical(
                &self.y.label,
                self.outer.x0 + f.label * (1.0 - DESCENT) + 2.0,
                (p.y0 + p.y1) / 2.0,
                f.label,
                INK,
                false,
            )?;
        }
        if let Some(t) = &self.title {
            let t = fit_text(c, t, f.label, self.outer.x1 - p.x0, true);
            c.text(
                &t,
                p.x0,
                self.outer.y0 + f.label * 1.0,
                f.label,
                INK,
                Align::Left,
                true,
            )?;
        }
        Ok(())
    }

    /// A centred message in an empty plot area (e.g. "noise floor not measured").
    pub fn message(&self, c: &mut Canvas, lines: &[String]) -> Result<(), String> {
        let f = self.fonts;
        let lh = f.label * 1.4;
        let y0 = (self.plot.y0 + self.plot.y1) / 2.0 - lh * (lines.len() as f64 - 1.0) / 2.0;
        for (i, l) in lines.iter().enumerate() {
            let l = fit_text(c, l, f.label, self.plot.w() * 0.95, false);
            c.text(
                &l,
                (self.plot.x0 + self.plot.x1) / 2.0,
                y0 + i as f64 * lh + f.label * CAP / 2.0,
                f.label,
                MUTED,
                Align::Center,
                false,
            )?;
        }
        Ok(())
    }
}

/// Min/max decimation per pixel column: where three or more consecutive points fall into the
/// same column, keeps only the lowest and the highest, the one nearer the previous point
/// first. The column is covered from its lowest to its highest point either way, so this
/// draws the same pixels as the full polyline (dense FFT spectra) with less than half the
/// vertical travel that a rasteriser has to cover.
pub(crate) fn decimate(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if pts.len() < 64 {
        return pts;
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len().min(8192));
    let mut i = 0;
    while i < pts.len() {
        let col = pts[i].0.floor();
        let mut j = i + 1;
        while j < pts.len() && pts[j].0.floor() == col {
            j += 1;
        }
        if j - i <= 2 {
            out.extend_from_slice(&pts[i..j]);
        } else {
            let g = &pts[i..j];
            let (mut lo, mut hi) = (g[0], g[0]);
            for &p in g {
                if p.1 < lo.1 {
                    lo = p;
                }
                if p.1 > hi.1 {
                    hi = p;
                }
            }
            let prev = out.last().copied().unwrap_or(g[0]);
            if (lo.1 - prev.1).abs() <= (hi.1 - prev.1).abs() {
                out.extend([lo, hi]);
            } else {
                out.extend([hi, lo]);
            }
        }
        i = j;
    }
    out
}

/// Shortens `text` with an ellipsis until it fits `max_w` pixels.
pub(crate) fn fit_text(c: &Canvas, text: &str, size: f64, max_w: f64, bold: bool) -> String {
    if c.text_width(text, size, bold) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let s: String = chars[..mid].iter().collect::<String>() + "…";
        if c.text_width(&s, size, bold) <= max_w {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    chars[..lo].iter().collect::<String>() + "…"
}

/// One line of a legend or text box.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A line sample and its label.
    Line { stroke: Stroke, text: String },
    /// Plain text (e.g. a measured value).
    Text {
        text: String,
        color: Rgb,
        bold: bool,
    },
    /// A filled square and its label (bar charts).
    Swatch { color: Rgb, text: String },
}

/// A legend / text box: measured, placed in the plot corner that hides the least data, drawn.
pub(crate) struct LegendBox {
    pub entries: Vec<Entry>,
    pub w: f64,
    pub h: f64,
    line_h: f64,
    sample_w: f64,
    pad: f64,
}

impl LegendBox {
    pub fn new(c: &Canvas, entries: Vec<Entry>, f: &Fonts) -> LegendBox {
        let line_h = f.legend * 1.3;
        let sample_w = f.legend * 2.0;
        let pad = f.legend * 0.5;
        let mut w: f64 = 0.0;
        for e in &entries {
            let tw = match e {
                Entry::Line { text, .. } => {
                    sample_w + f.legend * 0.5 + c.text_width(text, f.legend, false)
                }
                Entry::Text { text, bold, .. } => c.text_width(text, f.legend, *bold),
                Entry::Swatch { text, .. } => f.legend * 1.4 + c.text_width(text, f.legend, false),
            };
            w = w.max(tw);
        }
        let h = line_h * entries.len() as f64 + pad * 2.0 - (line_h - f.legend) * 0.3;
        LegendBox {
            entries,
            w: (w + pad * 2.0).ceil(),
            h: h.ceil(),
            line_h,
            sample_w,
            pad,
        }
    }

    /// Candidate positions (top-left corners), in order of preference.
    fn candidates(&self, plot: Rect, inset: f64) -> [(f64, f64); 4] {
        let (l, r) = (plot.x0 + inset, plot.x1 - inset - self.w);
        let (t, b) = (plot.y0 + inset, plot.y1 - inset - self.h);
        [(r, t), (r, b), (l, b), (l, t)]
    }

    /// How much data a box at `pos` would hide: the number of (weighted) segments crossing it.
    fn score(&self, pos: (f64, f64), runs: &[(Vec<(f64, f64)>, f64)], margin: f64) -> f64 {
        let r = Rect::new(
            pos.0 - margin,
            pos.1 - margin,
            pos.0 + self.w + margin,
            pos.1 + self.h + margin,
        );
        let mut s = 0.0;
        for (pts, weight) in runs {
            if pts.len() == 1 && r.contains(pts[0].0, pts[0].1) {
                s += weight;
            }
            for w in pts.windows(2) {
                if clip_segment(w[0], w[1], r).is_some() {
                    s += weight;
                }
            }
        }
        s
    }

    /// The best corner and how much data it hides (0 = none).
    pub fn place(&self, frame: &Frame, runs: &[(Vec<(f64, f64)>, f64)]) -> ((f64, f64), f64) {
        let inset = frame.fonts.legend * 0.5;
        let mut best = (self.candidates(frame.plot, inset)[0], f64::INFINITY);
        for pos in self.candidates(frame.plot, inset) {
            let s = self.score(pos, runs, frame.fonts.legend * 0.2);
            if s < best.1 {
                best = (pos, s);
            }
        }
        best
    }

    pub fn draw(&self, c: &mut Canvas, pos: (f64, f64), f: &Fonts) -> Result<(), String> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let r = Rect::new(pos.0, pos.1, pos.0 + self.w, pos.1 + self.h);
        c.fill_rect(r, WHITE, 0.92);
        c.stroke_rect(r, f.grid(), [0xa0, 0xa0, 0xa0]);
        for (i, e) in self.entries.iter().enumerate() {
            let mid = r.y0 + self.pad + self.line_h * i as f64 + f.legend * 0.5;
            let baseline = mid + f.legend * CAP / 2.0;
            match e {
                Entry::Line { stroke, text } => {
                    let x0 = r.x0 + self.pad;
                    let mut s = *stroke;
                    s.alpha = s.alpha.max(0.6);
                    s.width = s.width.max(2.0 * f.line);
                    c.polyline(&[(x0, mid), (x0 + self.sample_w, mid)], &s, r);
                    c.text(
                        text,
                        x0 + self.sample_w + f.legend * 0.5,
                        baseline,
                        f.legend,
                        INK,
                        Align::Left,
                        false,
                    )?;
                }
                Entry::Swatch { color, text } => {
                    let x0 = r.x0 + self.pad;
                    let h = f.legend * 0.8;
                    c.fill_rect(
                        Rect::new(x0, mid - h / 2.0, x0 + h, mid + h / 2.0),
                        *color,
                        1.0,
                    );
                    c.text(
                        text,
                        x0 + f.legend * 1.4,
                        baseline,
                        f.legend,
                        INK,
                        Align::Left,
                        false,
                    )?;
                }
                Entry::Text { text, color, bold } => {
                    c.text(
                        text,
                        r.x0 + self.pad,
                        baseline,
                        f.legend,
                        *color,
                        Align::Left,
                        *bold,
                    )?;
                }
            }
        }
        Ok(())
    }
}
