//! What a page draws: a display list of crisp rectangles, anti-aliased (optionally dashed)
//! polylines clipped to a rectangle, and text, in pixel coordinates. Pages draw into a
//! [`Canvas`]; `backend` replays it through a plotters backend (the tiny-skia raster for PNG,
//! plotters' SVG backend for SVG), so both formats come from the same drawing code.
//! Must not import plotters or any raster code: it only records.

use super::text;

pub(crate) use super::text::{ASCENT, CAP, DESCENT};

pub(crate) type Rgb = [u8; 3];

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn new(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect {
        Rect { x0, y0, x1, y1 }
    }
    pub fn w(&self) -> f64 {
        self.x1 - self.x0
    }
    pub fn h(&self) -> f64 {
        self.y1 - self.y0
    }
    pub fn inset(&self, l: f64, t: f64, r: f64, b: f64) -> Rect {
        Rect::new(self.x0 + l, self.y0 + t, self.x1 - r, self.y1 - b)
    }
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }
    /// Splits horizontally at `frac` of the height: (top, bottom).
    pub fn split_v(&self, frac: f64, gap: f64) -> (Rect, Rect) {
        let y = self.y0 + self.h() * frac;
        (
            Rect::new(self.x0, self.y0, self.x1, y - gap / 2.0),
            Rect::new(self.x0, y + gap / 2.0, self.x1, self.y1),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// How a polyline is stroked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stroke {
    pub color: Rgb,
    pub width: f64,
    pub alpha: f64,
    /// (on, off) lengths in pixels.
    pub dash: Option<(f64, f64)>,
}

/// One recorded drawing operation.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// A filled rectangle whose edges lie on whole pixels.
    Fill { r: Rect, color: Rgb, alpha: f64 },
    /// A polyline (finite pixel coordinates), clipped to `clip`.
    Line {
        pts: Vec<(f64, f64)>,
        stroke: Stroke,
        clip: Rect,
    },
    /// Text aligned at `x` with its baseline at `y`; or, when `vertical`, read bottom-to-top
    /// with its baseline at `x` and centred on `y` ([`Canvas::text_vertical`]).
    Text {
        text: String,
        x: f64,
        y: f64,
        size: f64,
        color: Rgb,
        align: Align,
        bold: bool,
        vertical: bool,
    },
}

pub(crate) struct Canvas {
    pub w: u32,
    pub h: u32,
    pub ops: Vec<Op>,
}

impl Canvas {
    pub fn new(w: u32, h: u32, bg: Rgb) -> Canvas {
        let mut c = Canvas {
            w,
            h,
            ops: Vec::new(),
        };
        c.fill_rect(Rect::new(0.0, 0.0, w as f64, h as f64), bg, 1.0);
        c
    }

    /// Fills the pixels whose centres lie inside the rectangle.
    pub fn fill_rect(&mut self, r: Rect, color: Rgb, alpha: f64) {
        if !(r.x0.is_finite() && r.x1.is_finite() && r.y0.is_finite() && r.y1.is_finite()) {
            return;
        }
        let (w, h) = (self.w as f64, self.h as f64);
        let r = Rect::new(
            r.x0.min(r.x1).round().clamp(0.0, w),
            r.y0.min(r.y1).round().clamp(0.0, h),
            r.x0.max(r.x1).round().clamp(0.0, w),
            r.y0.max(r.y1).round().clamp(0.0, h),
        );
        if r.w() > 0.0 && r.h() > 0.0 && alpha > 0.0 {
            self.ops.push(Op::Fill {
                r,
                color,
                alpha: alpha.min(1.0),
            });
        }
    }

    /// A crisp horizontal line `t` pixels thick centred on `y`.
    pub fn hline(&mut self, x0: f64, x1: f64, y: f64, t: f64, c: Rgb) {
        let top = (y - t / 2.0).round();
        self.fill_rect(Rect::new(x0, top, x1, top + t.round().max(1.0)), c, 1.0);
    }

    /// A crisp vertical line `t` pixels thick centred on `x`.
    pub fn vline(&mut self, x: f64, y0: f64, y1: f64, t: f64, c: Rgb) {
        let left = (x - t / 2.0).round();
        self.fill_rect(Rect::new(left, y0, left + t.round().max(1.0), y1), c, 1.0);
    }

    /// The outline of a rectangle, `t` pixels thick, drawn inside it.
    pub fn stroke_rect(&mut self, r: Rect, t: f64, c: Rgb) {
        let t = t.round().max(1.0);
        let (x0, y0, x1, y1) = (r.x0.round(), r.y0.round(), r.x1.round(), r.y1.round());
        self.fill_rect(Rect::new(x0, y0, x1, y0 + t), c, 1.0);
        self.fill_rect(Rect::new(x0, y1 - t, x1, y1), c, 1.0);
        self.fill_rect(Rect::new(x0, y0, x0 + t, y1), c, 1.0);
        self.fill_rect(Rect::new(x1 - t, y0, x1, y1), c, 1.0);
    }

    /// An anti-aliased polyline (pixel coordinates; non-finite points are dropped), clipped
    /// to `clip` and the canvas. Overlapping parts of one polyline are not blended twice.
    pub fn polyline(&mut self, pts: &[(f64, f64)], s: &Stroke, clip: Rect) {
        if pts.is_empty() || s.width <= 0.0 || s.alpha <= 0.0 {
            return;
        }
        let clip = Rect::new(
            clip.x0.max(0.0),
            clip.y0.max(0.0),
            clip.x1.min(self.w as f64),
            clip.y1.min(self.h as f64),
        );
        if clip.w() <= 0.0 || clip.h() <= 0.0 {
            return;
        }
        let pts: Vec<(f64, f64)> = pts
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        if !pts.is_empty() {
            self.ops.push(Op::Line {
                pts,
                stroke: *s,
                clip,
            });
        }
    }

    /// Advance width of `text` in pixels.
    pub fn text_width(&self, text: &str, size: f64, bold: bool) -> f64 {
        text::advance_width(text, size, bold)
    }

    /// Draws `text` with its baseline at `baseline`, aligned horizontally at `x`.
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &mut self,
        text: &str,
        x: f64,
        baseline: f64,
        size: f64,
        color: Rgb,
        align: Align,
        bold: bool,
    ) -> Result<(), String> {
        if !x.is_finite() || !baseline.is_finite() || x.abs() > 1e6 {
            return Ok(());
        }
        // SVG readers drop leading and trailing spaces: keep them as an offset instead
        let core = text.trim();
        if core.is_empty() {
            return Ok(());
        }
        let lead = self.text_width(&text[..text.len() - text.trim_start().len()], size, bold);
        let trail = self.text_width(&text[text.trim_end().len()..], size, bold);
        let x = match align {
            Align::Left => x + lead,
            Align::Right => x - trail,
            Align::Center => x + (lead - trail) / 2.0,
        };
        self.ops.push(Op::Text {
            // SVG readers also collapse runs of spaces: every second one is a no-break space
            // (the same advance in DejaVu Sans)
            text: core.replace("  ", " \u{a0}"),
            x,
            y: baseline,
            size,
            color,
            align,
            bold,
            vertical: false,
        });
        Ok(())
    }

    /// Draws `text` rotated to read bottom-to-top, centred vertically on `cy`, with its
    /// baseline at `baseline_x` (glyphs extend to the left of it).
    pub fn text_vertical(
        &mut self,
        text: &str,
        baseline_x: f64,
        cy: f64,
        size: f64,
        color: Rgb,
        bold: bool,
    ) -> Result<(), String> {
        if text.trim().is_empty() || !baseline_x.is_finite() || !cy.is_finite() {
            return Ok(());
        }
        self.ops.push(Op::Text {
            text: text.trim().to_string(),
            x: baseline_x,
            y: cy,
            size,
            color,
            align: Align::Center,
            bold,
            vertical: true,
        });
        Ok(())
    }
}

/// Liang–Barsky: the parameter interval of segment a→b inside `r`, if any.
pub(crate) fn clip_segment(a: (f64, f64), b: (f64, f64), r: Rect) -> Option<(f64, f64)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (p, q) in [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 <= t1 { Some((t0, t1)) } else { None }
}
