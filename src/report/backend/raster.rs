//! A plotters drawing backend that rasterises into a tiny-skia pixmap: anti-aliased strokes
//! with round joins and caps (one fill per path, so an overlapping or translucent curve is
//! never blended twice), exact fills, and the embedded fonts through [`text::rasterise`].
//! Its coordinates are in `1/units_per_px` pixels. Encodes the result as an RGB PNG.
//!
//! Own backend because plotters' bitmap backend neither anti-aliases curves nor places
//! glyphs by their side bearings; tiny-skia (the rasteriser behind resvg) does the pixels.

use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};
use tiny_skia::{FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::super::text;

pub(crate) struct RasterBackend {
    pixmap: Pixmap,
    k: f32,
    units: u32,
}

/// The (never produced) error type: drawing into a pixmap cannot fail.
#[derive(Debug, thiserror::Error)]
#[error("raster backend")]
pub(crate) struct RasterError;

type R = Result<(), DrawingErrorKind<RasterError>>;

fn paint(c: BackendColor) -> Paint<'static> {
    let mut p = Paint::default();
    let a = (c.alpha.clamp(0.0, 1.0) * 255.0).round() as u8;
    p.set_color_rgba8(c.rgb.0, c.rgb.1, c.rgb.2, a);
    p.anti_alias = true;
    p
}

impl RasterBackend {
    /// A `w` × `h` pixel image, opaque white, addressed in `units_per_px` units per pixel,
    /// its pixels kept in `spare` (a buffer from an earlier image, or an empty one): a
    /// drawing thread that hands each page's buffer on to the next page holds one image's
    /// memory, not one per page (`sweeplab report` of a 10 s session: peak 42 MiB before,
    /// 29 MiB after, its time unchanged within the machine's noise).
    pub fn with_buffer(
        w: u32,
        h: u32,
        units_per_px: u32,
        mut spare: Vec<u8>,
    ) -> Result<RasterBackend, String> {
        let unusable = || format!("{w}x{h} is not a usable image size");
        let size = tiny_skia::IntSize::from_wh(w, h).ok_or_else(unusable)?;
        let len = (w as usize)
            .checked_mul(h as usize)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(unusable)?;
        spare.clear();
        spare.resize(len, 0);
        let mut pixmap = Pixmap::from_vec(spare, size).ok_or_else(unusable)?;
        pixmap.fill(tiny_skia::Color::WHITE);
        Ok(RasterBackend {
            pixmap,
            k: units_per_px as f32,
            units: units_per_px,
        })
    }

    fn px(&self, p: BackendCoord) -> (f32, f32) {
        (p.0 as f32 / self.k, p.1 as f32 / self.k)
    }

    fn stroke_path(&mut self, pts: &[BackendCoord], style: &impl BackendStyle) -> R {
        let c = style.color();
        if c.alpha <= 0.0 || pts.is_empty() {
            return Ok(());
        }
        let width = style.stroke_width().max(1) as f32 / self.k;
        let stroke = Stroke {
            width,
            line_cap: LineCap::Round,
            // round joins cost a quarter of the time of a dense noisy curve (each is a fan
            // of edges) and differ from bevels by under 0.2 px on lines up to 2 px wide
            line_join: if width <= 2.0 {
                LineJoin::Bevel
            } else {
                LineJoin::Round
            },
            ..Stroke::default()
        };
        let mut pb = PathBuilder::new();
        let (x, y) = self.px(pts[0]);
        pb.move_to(x, y);
        for &p in &pts[1..] {
            let (x, y) = self.px(p);
            pb.line_to(x, y);
        }
        if pts.len() == 1 {
            pb.line_to(x, y);
        }
        if let Some(path) = pb.finish() {
            self.pixmap
                .stroke_path(&path, &paint(c), &stroke, Transform::identity(), None);
        }
        Ok(())
    }

    fn fill(&mut self, path: &tiny_skia::Path, c: BackendColor) {
        self.pixmap.fill_path(
            path,
            &paint(c),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }

    /// Blends `c` at `coverage` over the (opaque) pixel at `x`, `y`, if it is inside.
    fn blend(&mut self, x: i32, y: i32, c: BackendColor, coverage: f32) {
        let (w, h) = (self.pixmap.width() as i32, self.pixmap.height() as i32);
        if x < 0 || y < 0 || x >= w || y >= h {
            return;
        }
        let a = (coverage as f64 * c.alpha).clamp(0.0, 1.0);
        let i = (y * w + x) as usize * 4;
        let px = &mut self.pixmap.data_mut()[i..i + 4];
        for (k, v) in [c.rgb.0, c.rgb.1, c.rgb.2].into_iter().enumerate() {
            px[k] = (px[k] as f64 * (1.0 - a) + v as f64 * a + 0.5) as u8;
        }
    }

    /// Encodes the image as an 8-bit RGB PNG (it is opaque: the alpha channel is dropped).
    /// Returns the PNG and the image's buffer, for the next image to reuse.
    pub fn into_png(self) -> (Result<Vec<u8>, String>, Vec<u8>) {
        let (w, h) = (self.pixmap.width(), self.pixmap.height());
        let mut rgb = self.pixmap.take();
        // RGBA to RGB in place, front to back (a pixel's three bytes never land beyond its
        // own four): no second buffer of the image's size
        let n = w as usize * h as usize;
        for i in 0..n {
            let (s, d) = (4 * i, 3 * i);
            rgb[d] = rgb[s];
            rgb[d + 1] = rgb[s + 1];
            rgb[d + 2] = rgb[s + 2];
        }
        rgb.truncate(3 * n);
        let png = Self::encode_rgb(w, h, &rgb);
        (png, rgb)
    }

    fn encode_rgb(w: u32, h: u32, rgb: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(w as usize * h as usize / 3);
        let e = |e: png::EncodingError| e.to_string();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Fast);
            // per-row adaptive filtering: ~2.5x smaller files than a fixed Sub filter on
            // anti-aliased plots for a few ms; stronger deflate levels cost 10x more time
            enc.set_filter(png::Filter::Adaptive);
            let mut writer = enc.write_header().map_err(e)?;
            // one whole-image write: the png crate's fast (fdeflate) path takes only that
            writer.write_image_data(rgb).map_err(e)?;
            writer.finish().map_err(e)?;
        }
        Ok(out)
    }
}

impl DrawingBackend for RasterBackend {
    type ErrorType = RasterError;

    fn get_size(&self) -> (u32, u32) {
        (
            self.pixmap.width() * self.units,
            self.pixmap.height() * self.units,
        )
    }
    fn ensure_prepared(&mut self) -> R {
        Ok(())
    }
    fn present(&mut self) -> R {
        Ok(())
    }
    fn draw_pixel(&mut self, p: BackendCoord, color: BackendColor) -> R {
        let q = (p.0 + 1, p.1 + 1);
        self.draw_rect(p, q, &color, true)
    }
    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, s: &S) -> R {
        self.stroke_path(&[from, to], s)
    }
    /// Fills (or outlines) the rectangle from `upper_left` up to, not including,
    /// `bottom_right`, as plotters' SVG backend does.
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        s: &S,
        fill: bool,
    ) -> R {
        if !fill {
            let (a, b) = (upper_left, bottom_right);
            return self.stroke_path(&[a, (b.0, a.1), b, (a.0, b.1), a], s);
        }
        let (x0, y0) = self.px(upper_left);
        let (x1, y1) = self.px(bottom_right);
        let mut paint = paint(s.color());
        // edges on whole pixels (all of a page's fills) need no anti-aliasing, whose
        // rectangle path is several times slower
        paint.anti_alias = [x0, y0, x1, y1].iter().any(|v| v.fract() != 0.0);
        if let Some(r) = tiny_skia::Rect::from_ltrb(x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1))
        {
            self.pixmap
                .fill_rect(r, &paint, Transform::identity(), None);
        }
        Ok(())
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> R {
        let pts: Vec<BackendCoord> = path.into_iter().collect();
        self.stroke_path(&pts, s)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        s: &S,
        fill: bool,
    ) -> R {
        let (x, y) = self.px(center);
        let Some(path) = PathBuilder::from_circle(x, y, radius as f32 / self.k) else {
            return Ok(());
        };
        if fill {
            self.fill(&path, s.color());
        } else {
            let stroke = Stroke {
                width: s.stroke_width().max(1) as f32 / self.k,
                ..Stroke::default()
            };
            self.pixmap.stroke_path(
                &path,
                &paint(s.color()),
                &stroke,
                Transform::identity(),
                None,
            );
        }
        Ok(())
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        s: &S,
    ) -> R {
        let mut pb = PathBuilder::new();
        for (i, p) in vert.into_iter().enumerate() {
            let (x, y) = self.px(p);
            if i == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        pb.close();
        if let Some(path) = pb.finish() {
            self.fill(&path, s.color());
        }
        Ok(())
    }
    fn draw_text<S: BackendTextStyle>(&mut self, t: &str, style: &S, pos: BackendCoord) -> R {
        let c = style.color();
        let mut hits: Vec<(i32, i32, f32)> = Vec::new();
        text::rasterise(t, style, pos, self.k as f64, &mut |x, y, a| {
            hits.push((x, y, a))
        });
        for (x, y, a) in hits {
            self.blend(x, y, c, a);
        }
        Ok(())
    }
    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        t: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<RasterError>> {
        let bold = matches!(style.style(), plotters_backend::FontStyle::Bold);
        let px = text::pixel_scale(style.size()) / self.k as f64;
        let w = text::advance_width(t, px, bold);
        Ok((w.round() as u32, px.round() as u32))
    }
}
