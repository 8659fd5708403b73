//! Text: the embedded DejaVu Sans fonts (never system fonts), their metrics, and glyph
//! rasterising for the raster backend. Owns how a text's anchor maps to its baseline, which
//! every backend shares. Must not import anything outside `report`.
//!
//! Own code rather than plotters' font layer because plotters' ab_glyph renderer ignores
//! each glyph's left side bearing (so "raw" renders as "ra w"); here every glyph is placed
//! by its own outline bounds and kerning.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters_backend::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendTextStyle, FontFamily, FontStyle, FontTransform,
};

/// DejaVu Sans vertical metrics as fractions of the pixel scale ab_glyph uses
/// (ascent − descent = 1): units per em 2048, ascent 1901, descent −483, cap height 1493.
pub(crate) const ASCENT: f64 = 1901.0 / 2384.0;
pub(crate) const DESCENT: f64 = 483.0 / 2384.0;
pub(crate) const CAP: f64 = 1493.0 / 2384.0;
/// The em size as a fraction of that pixel scale.
const EM: f64 = 2048.0 / 2384.0;
/// Plotters' text size is 1.24 em (its SVG backend writes `font-size = size / 1.24`).
const PLOTTERS_SIZE_PER_EM: f64 = 1.24;
/// A top anchor puts the baseline 0.76 em below it (plotters' SVG backend: `dy="0.76em"`).
const TOP_TO_BASELINE_EM: f64 = 0.76;
/// The font list SVG readers use (the raster backend always uses the embedded fonts).
const SVG_FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";

/// The embedded fonts, parsed once per process.
fn font(bold: bool) -> Option<&'static FontRef<'static>> {
    static FONTS: OnceLock<Option<(FontRef<'static>, FontRef<'static>)>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let r = FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
            let b = FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
            Some((r, b))
        })
        .as_ref()
        .map(|(r, b)| if bold { b } else { r })
}

/// Fails when the embedded fonts cannot be parsed (checked before any plot is drawn).
pub(crate) fn ensure_fonts() -> Result<(), String> {
    match (font(false), font(true)) {
        (Some(_), Some(_)) => Ok(()),
        _ => Err("the embedded DejaVu Sans fonts could not be loaded".into()),
    }
}

/// Advance width of `text` at pixel scale `size` (ascent − descent), with kerning.
pub(crate) fn advance_width(text: &str, size: f64, bold: bool) -> f64 {
    let Some(f) = font(bold) else {
        return text.chars().count() as f64 * size * 0.6;
    };
    pens(f, size as f32, text)
        .last()
        .map_or(0.0, |(_, _, end)| end as f64)
}

/// Each glyph of `text` at pixel scale `size` with its pen position (kerning applied) and
/// the pen position after it.
fn pens<'a>(
    f: &'a FontRef<'static>,
    size: f32,
    text: &'a str,
) -> impl Iterator<Item = (ab_glyph::GlyphId, f32, f32)> + 'a {
    let sf = f.as_scaled(size);
    let mut pen = 0f32;
    let mut prev = None;
    text.chars().map(move |c| {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        prev = Some(id);
        let at = pen;
        pen += sf.h_advance(id);
        (id, at, pen)
    })
}

/// Plotters' text size for a pixel scale `size`, and back.
pub(crate) fn plotters_size(size: f64) -> f64 {
    size * EM * PLOTTERS_SIZE_PER_EM
}
pub(crate) fn pixel_scale(plotters_size: f64) -> f64 {
    plotters_size / (EM * PLOTTERS_SIZE_PER_EM)
}

/// How far below a top anchor the baseline lies, for a pixel scale `size`.
pub(crate) fn top_to_baseline(size: f64) -> f64 {
    TOP_TO_BASELINE_EM * EM * size
}

/// A text style handed to plotters' backends: the embedded font at a size, colour, anchor
/// and rotation.
pub(crate) struct GlyphStyle {
    /// Plotters' size (1.24 em).
    pub size: f64,
    pub bold: bool,
    /// RGB.
    pub color: [u8; 3],
    pub anchor: Pos,
    pub transform: FontTransform,
}

impl BackendTextStyle for GlyphStyle {
    type FontError = std::convert::Infallible;

    fn color(&self) -> BackendColor {
        BackendColor {
            alpha: 1.0,
            rgb: (self.color[0], self.color[1], self.color[2]),
        }
    }
    fn size(&self) -> f64 {
        self.size
    }
    fn transform(&self) -> FontTransform {
        self.transform.clone()
    }
    fn style(&self) -> FontStyle {
        if self.bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        }
    }
    fn anchor(&self) -> Pos {
        self.anchor
    }
    fn family(&self) -> FontFamily<'_> {
        FontFamily::Name(SVG_FAMILY)
    }
    fn layout_box(&self, text: &str) -> Result<((i32, i32), (i32, i32)), Self::FontError> {
        let px = pixel_scale(self.size);
        let w = advance_width(text, px, self.bold);
        Ok((
            (0, -(px * ASCENT).round() as i32),
            (w.round() as i32, (px * DESCENT).round() as i32),
        ))
    }
    fn draw<E, F: FnMut(i32, i32, BackendColor) -> Result<(), E>>(
        &self,
        text: &str,
        pos: BackendCoord,
        mut draw: F,
    ) -> Result<Result<(), E>, std::convert::Infallible> {
        let color = self.color();
        let mut out = Ok(());
        rasterise(text, self, pos, 1.0, &mut |x, y, a| {
            if out.is_ok() {
                out = draw(
                    x,
                    y,
                    BackendColor {
                        alpha: a as f64,
                        rgb: color.rgb,
                    },
                );
            }
        });
        Ok(out)
    }
}

/// One glyph's coverage, `w` pixels wide, its top-left at (`x`, `y`) from its origin on
/// the baseline.
struct Coverage {
    x: i32,
    y: i32,
    w: usize,
    cov: Vec<f32>,
}

/// The coverage of glyph `id` at pixel scale `size` with its origin on a whole pixel
/// (which is how [`rasterise`] places every glyph, so each is outlined once per process).
fn coverage(
    f: &FontRef<'static>,
    id: ab_glyph::GlyphId,
    size: f32,
    bold: bool,
) -> std::sync::Arc<Coverage> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    type Key = (u16, u32, bool);
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Coverage>>>> = OnceLock::new();
    let key = (id.0, size.to_bits(), bold);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(g) = cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return g;
    }
    let g = match f.outline_glyph(id.with_scale_and_position(size, ab_glyph::point(0.0, 0.0))) {
        Some(o) => {
            let b = o.px_bounds();
            let w = b.width() as usize;
            let mut cov = vec![0f32; w * b.height() as usize];
            o.draw(|gx, gy, c| cov[gy as usize * w + gx as usize] = c);
            Coverage {
                x: b.min.x as i32,
                y: b.min.y as i32,
                w,
                cov,
            }
        }
        None => Coverage {
            x: 0,
            y: 0,
            w: 1,
            cov: Vec::new(),
        },
    };
    let g = Arc::new(g);
    if let Ok(mut m) = cache.lock() {
        // a bounded cache: the few sizes and characters of a report's labels
        if m.len() > 4096 {
            m.clear();
        }
        m.insert(key, g.clone());
    }
    g
}

/// Rasterises `text` as `style` (any plotters text style: its size, weight, anchor and
/// rotation) anchored at `pos` in a backend whose units are `1/scale` pixels, calling
/// `put(x, y, coverage)` for each device pixel a glyph covers. Glyph origins sit on whole
/// pixels (crisp stems); rotations of 90°, 180° and 270° are supported.
pub(crate) fn rasterise<S: BackendTextStyle>(
    text: &str,
    style: &S,
    pos: BackendCoord,
    scale: f64,
    put: &mut dyn FnMut(i32, i32, f32),
) {
    let bold = matches!(style.style(), FontStyle::Bold);
    let Some(f) = font(bold) else { return };
    let size = pixel_scale(style.size()) / scale;
    if !(size.is_finite() && size > 0.5) {
        return;
    }
    let w = advance_width(text, size, bold);
    let anchor = style.anchor();
    let left = match anchor.h_pos {
        HPos::Left => 0.0,
        HPos::Center => -w / 2.0,
        HPos::Right => -w,
    };
    let baseline = match anchor.v_pos {
        VPos::Top => top_to_baseline(size),
        VPos::Center => size * (ASCENT - DESCENT) / 2.0,
        VPos::Bottom => -size * DESCENT,
    };
    let (ax, ay) = (pos.0 as f64 / scale, pos.1 as f64 / scale);
    let transform = style.transform();
    // local (text-frame) pixel → device pixel, rotating about the anchor
    let to_device = |lx: i32, ly: i32| -> (i32, i32) {
        let (x0, y0) = (ax.round() as i32, ay.round() as i32);
        match transform {
            FontTransform::Rotate90 => (x0 - ly - 1, y0 + lx),
            FontTransform::Rotate180 => (x0 - lx - 1, y0 - ly - 1),
            FontTransform::Rotate270 => (x0 + ly, y0 - lx - 1),
            _ => (x0 + lx, y0 + ly),
        }
    };
    // the local frame keeps the anchor's sub-pixel offset for an unrotated text
    let (fx, fy) = match transform {
        FontTransform::None => (ax - ax.round(), ay - ay.round()),
        _ => (0.0, 0.0),
    };
    let origin_x = (left + fx).round() as f32;
    let base_y = (baseline + fy).round() as f32;
    for (id, pen, _) in pens(f, size as f32, text) {
        let gx0 = (origin_x + pen.round()) as i32;
        let g = coverage(f, id, size as f32, bold);
        for (k, &cov) in g.cov.iter().enumerate() {
            if cov > 0.0 {
                let (cx, cy) = ((k % g.w) as i32, (k / g.w) as i32);
                let (x, y) = to_device(gx0 + g.x + cx, base_y as i32 + g.y + cy);
                put(x, y, cov.min(1.0));
            }
        }
    }
}
