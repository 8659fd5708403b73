//! An RGB raster with the few primitives the plots need: crisp rectangles and grid lines,
//! anti-aliased (optionally dashed) polylines, and text drawn through plotters with an
//! embedded DejaVu font. The buffer is handed to plotters' `BitMapBackend::with_buffer` for
//! text; everything else is drawn directly, so curves are anti-aliased.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontFamily, FontStyle, FontTransform};

/// The name the embedded fonts are registered under (not a system font name on purpose).
pub(crate) const FONT_NAME: &str = "sweeplab-dejavu-sans";

/// DejaVu Sans vertical metrics as fractions of the pixel scale ab_glyph uses
/// (ascent − descent = 1): units per em 2048, ascent 1901, descent −483, cap height 1493.
pub(crate) const ASCENT: f64 = 1901.0 / 2384.0;
pub(crate) const DESCENT: f64 = 483.0 / 2384.0;
pub(crate) const CAP: f64 = 1493.0 / 2384.0;

pub(crate) type Rgb = [u8; 3];

/// The same embedded fonts parsed by ab_glyph, for glyph metrics only: plotters' ab_glyph
/// renderer ignores each glyph's left side bearing (so "raw" renders as "ra w"); we place
/// every glyph ourselves and let plotters rasterise them one at a time.
fn metrics_font(bold: bool) -> Option<&'static ab_glyph::FontRef<'static>> {
    static FONTS: OnceLock<Option<(ab_glyph::FontRef<'static>, ab_glyph::FontRef<'static>)>> =
        OnceLock::new();
    FONTS
        .get_or_init(|| {
            let r = ab_glyph::FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
            let b = ab_glyph::FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
            Some((r, b))
        })
        .as_ref()
        .map(|(r, b)| if bold { b } else { r })
}

/// Each glyph's left pixel offset from the text origin (as plotters draws it: its outline
/// bounds' left edge) and the advance width of the whole text.
fn glyph_layout(text: &str, size: f64, bold: bool) -> (Vec<(char, f64)>, f64) {
    layout_impl(text, size, bold, true)
}

/// Advance width of `text` (no outlines needed).
fn advance_width(text: &str, size: f64, bold: bool) -> f64 {
    layout_impl(text, size, bold, false).1
}

fn layout_impl(text: &str, size: f64, bold: bool, bounds: bool) -> (Vec<(char, f64)>, f64) {
    use ab_glyph::{Font, ScaleFont};
    let Some(font) = metrics_font(bold) else {
        let w = size * 0.6;
        let v = text
            .chars()
            .enumerate()
            .map(|(i, c)| (c, i as f64 * w))
            .collect();
        return (v, text.chars().count() as f64 * w);
    };
    let sf = font.as_scaled(size as f32);
    let mut pen = 0f32;
    let mut prev = None;
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        prev = Some(id);
        if !bounds {
            pen += sf.h_advance(id);
            continue;
        }
        if let Some(o) = sf.outline_glyph(sf.scaled_glyph(c)) {
            // bounds at origin 0, exactly as plotters will rasterise the single glyph
            out.push((c, (pen.round() + o.px_bounds().min.x) as f64));
        }
        pen += sf.h_advance(id);
    }
    (out, pen as f64)
}

/// Registers the embedded fonts with plotters once per process.
pub(crate) fn ensure_fonts() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT_NAME, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "embedded DejaVu Sans font could not be loaded".to_string())?;
            plotters::style::register_font(FONT_NAME, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "embedded DejaVu Sans Bold font could not be loaded".to_string())?;
            Ok(())
        })
        .clone()
}

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

pub(crate) struct Canvas {
    pub w: u32,
    pub h: u32,
    pub buf: Vec<u8>,
    mask: Vec<f32>,
    touched: Vec<u32>,
}

impl Canvas {
    pub fn new(w: u32, h: u32, bg: Rgb) -> Canvas {
        let n = w as usize * h as usize;
        let buf = if bg[0] == bg[1] && bg[1] == bg[2] {
            vec![bg[0]; n * 3]
        } else {
            bg.repeat(n)
        };
        Canvas {
            w,
            h,
            buf,
            mask: vec![0.0; n],
            touched: Vec::new(),
        }
    }

    #[inline]
    fn blend(&mut self, idx: usize, c: Rgb, a: f64) {
        let p = &mut self.buf[idx * 3..idx * 3 + 3];
        for k in 0..3 {
            p[k] = (p[k] as f64 * (1.0 - a) + c[k] as f64 * a + 0.5) as u8;
        }
    }

    /// Fills the pixels whose centres lie inside the rectangle.
    pub fn fill_rect(&mut self, r: Rect, c: Rgb, alpha: f64) {
        if !(r.x0.is_finite() && r.x1.is_finite() && r.y0.is_finite() && r.y1.is_finite()) {
            return;
        }
        let x0 = r.x0.min(r.x1).round().clamp(0.0, self.w as f64) as usize;
        let x1 = r.x0.max(r.x1).round().clamp(0.0, self.w as f64) as usize;
        let y0 = r.y0.min(r.y1).round().clamp(0.0, self.h as f64) as usize;
        let y1 = r.y0.max(r.y1).round().clamp(0.0, self.h as f64) as usize;
        let w = self.w as usize;
        for y in y0..y1 {
            for x in x0..x1 {
                if alpha >= 1.0 {
                    let i = (y * w + x) * 3;
                    self.buf[i..i + 3].copy_from_slice(&c);
                } else {
                    self.blend(y * w + x, c, alpha);
                }
            }
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

    /// An anti-aliased polyline (pixel coordinates, all finite), clipped to `clip`.
    /// Overlapping parts of the same polyline are not blended twice.
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
        let r = s.width / 2.0;
        let margin = r + 2.0;
        let grown = clip.inset(-margin, -margin, -margin, -margin);
        let mut arc = 0.0;
        if pts.len() == 1 {
            self.segment(pts[0], pts[0], r, None, 0.0, clip);
        }
        for win in pts.windows(2) {
            let (a, b) = (win[0], win[1]);
            let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
            if let Some((t0, t1)) = clip_segment(a, b, grown) {
                let p = (a.0 + (b.0 - a.0) * t0, a.1 + (b.1 - a.1) * t0);
                let q = (a.0 + (b.0 - a.0) * t1, a.1 + (b.1 - a.1) * t1);
                self.segment(p, q, r, s.dash, arc + t0 * len, clip);
            }
            arc += len;
        }
        // composite the coverage mask once
        let touched = std::mem::take(&mut self.touched);
        for &i in &touched {
            let i = i as usize;
            let a = self.mask[i] as f64 * s.alpha;
            self.mask[i] = 0.0;
            self.blend(i, s.color, a.min(1.0));
        }
        self.touched = touched;
        self.touched.clear();
    }

    /// Rasterises one capsule-shaped segment into the coverage mask.
    fn segment(
        &mut self,
        a: (f64, f64),
        b: (f64, f64),
        r: f64,
        dash: Option<(f64, f64)>,
        arc0: f64,
        clip: Rect,
    ) {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let len = len2.sqrt();
        let ext = r + 1.0;
        let w = self.w as usize;
        let cx0 = clip.x0.floor() as i64;
        let cx1 = clip.x1.ceil() as i64 - 1;
        let cy0 = clip.y0.floor() as i64;
        let cy1 = clip.y1.ceil() as i64 - 1;
        let cover = |px: i64, py: i64, mask: &mut Vec<f32>, touched: &mut Vec<u32>| {
            if px < cx0 || px > cx1 || py < cy0 || py > cy1 {
                return;
            }
            let (cx, cy) = (px as f64 + 0.5, py as f64 + 0.5);
            let t = if len2 > 0.0 {
                (((cx - a.0) * dx + (cy - a.1) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (nx, ny) = (a.0 + t * dx - cx, a.1 + t * dy - cy);
            let d = (nx * nx + ny * ny).sqrt();
            let mut c = (r + 0.5 - d).clamp(0.0, 1.0);
            if r < 0.5 {
                c *= 2.0 * r;
            }
            if let Some((on, off)) = dash {
                let period = on + off;
                if period > 0.0 {
                    let pos = (arc0 + t * len).rem_euclid(period);
                    // 1-px soft dash ends
                    let f = if pos <= on {
                        (pos.min(on - pos) + 0.5).min(1.0)
                    } else {
                        (0.5 - (pos - on).min(period - pos)).max(0.0)
                    };
                    c *= f;
                }
            }
            if c <= 0.0 {
                return;
            }
            let i = py as usize * w + px as usize;
            let m = &mut mask[i];
            if *m == 0.0 {
                touched.push(i as u32);
            }
            if (c as f32) > *m {
                *m = c as f32;
            }
        };
        let mut mask = std::mem::take(&mut self.mask);
        let mut touched = std::mem::take(&mut self.touched);
        if dx.abs() >= dy.abs() {
            let half = if dx.abs() > 0.0 {
                ext * len / dx.abs()
            } else {
                ext
            };
            let xs = (a.0.min(b.0) - ext).floor() as i64;
            let xe = (a.0.max(b.0) + ext).ceil() as i64;
            for px in xs.max(cx0)..=xe.min(cx1) {
                let t = if dx != 0.0 {
                    ((px as f64 + 0.5 - a.0) / dx).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let yc = a.1 + t * dy;
                let ys = (yc - half).floor() as i64;
                let ye = (yc + half).ceil() as i64;
                for py in ys.max(cy0)..=ye.min(cy1) {
                    cover(px, py, &mut mask, &mut touched);
                }
            }
        } else {
            let half = ext * len / dy.abs();
            let ys = (a.1.min(b.1) - ext).floor() as i64;
            let ye = (a.1.max(b.1) + ext).ceil() as i64;
            for py in ys.max(cy0)..=ye.min(cy1) {
                let t = ((py as f64 + 0.5 - a.1) / dy).clamp(0.0, 1.0);
                let xc = a.0 + t * dx;
                let xs = (xc - half).floor() as i64;
                let xe = (xc + half).ceil() as i64;
                for px in xs.max(cx0)..=xe.min(cx1) {
                    cover(px, py, &mut mask, &mut touched);
                }
            }
        }
        self.mask = mask;
        self.touched = touched;
    }

    fn font(size: f64, bold: bool) -> FontDesc<'static> {
        FontDesc::new(
            FontFamily::Name(FONT_NAME),
            size,
            if bold {
                FontStyle::Bold
            } else {
                FontStyle::Normal
            },
        )
    }

    /// Advance width of `text` in pixels.
    pub fn text_width(&self, text: &str, size: f64, bold: bool) -> f64 {
        advance_width(text, size, bold)
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
        if text.is_empty() || !x.is_finite() || !baseline.is_finite() {
            return Ok(());
        }
        let (glyphs, w) = glyph_layout(text, size, bold);
        let left = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
        }
        .round();
        // plotters' ab_glyph renderer puts the baseline at the anchor's top + size/2
        let top = baseline - size / 2.0;
        for (c, off) in glyphs {
            self.raw_glyph(c, (left + off, top), size, color, bold, FontTransform::None)?;
        }
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
        let (glyphs, w) = glyph_layout(text, size, bold);
        let bottom = (cy + w / 2.0).round();
        for (c, off) in glyphs {
            self.raw_glyph(
                c,
                (baseline_x - size / 2.0, bottom - off),
                size,
                color,
                bold,
                FontTransform::Rotate270,
            )?;
        }
        Ok(())
    }

    fn raw_glyph(
        &mut self,
        c: char,
        pos: (f64, f64),
        size: f64,
        color: Rgb,
        bold: bool,
        transform: FontTransform,
    ) -> Result<(), String> {
        if !(pos.0.abs() < 1e6 && pos.1.abs() < 1e6) {
            return Ok(());
        }
        let rgb = RGBColor(color[0], color[1], color[2]);
        let style = TextStyle::from(Self::font(size, bold).transform(transform))
            .color(&rgb)
            .pos(Pos::new(HPos::Left, VPos::Top));
        let (w, h) = (self.w, self.h);
        let mut buf = [0u8; 4];
        let text = c.encode_utf8(&mut buf);
        let mut backend = BitMapBackend::with_buffer(&mut self.buf, (w, h));
        backend
            .draw_text(text, &style, (pos.0.round() as i32, pos.1.round() as i32))
            .map_err(|e| format!("drawing text {text:?}: {e}"))
    }

    /// Encodes the canvas as an 8-bit RGB PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(self.buf.len() / 8);
        {
            let mut enc = png::Encoder::new(&mut out, self.w, self.h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Fast);
            // per-row adaptive filtering: ~2.5x smaller files than a fixed Sub filter on
            // anti-aliased plots for a few ms; stronger deflate levels cost 10x more time
            enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
            let mut writer = enc.write_header().map_err(|e| e.to_string())?;
            writer
                .write_image_data(&self.buf)
                .map_err(|e| e.to_string())?;
            writer.finish().map_err(|e| e.to_string())?;
        }
        Ok(out)
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
