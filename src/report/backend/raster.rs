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

    /// Fills the whole-pixel rectangle from (`x0`, `y0`) up to, not including, (`x1`, `y1`)
    /// (clipped to the image) with the opaque `c`: the pixels tiny-skia's own fill writes
    /// for an opaque colour on whole pixels, without the blitter it sets up per call (a
    /// spectrogram page is 9,000 cells).
    fn fill_opaque(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: BackendColor) {
        let (w, h) = (self.pixmap.width() as f32, self.pixmap.height() as f32);
        let (x0, x1) = (x0.clamp(0.0, w) as usize, x1.clamp(0.0, w) as usize);
        let (y0, y1) = (y0.clamp(0.0, h) as usize, y1.clamp(0.0, h) as usize);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let Some(px) = tiny_skia::PremultipliedColorU8::from_rgba(c.rgb.0, c.rgb.1, c.rgb.2, 255)
        else {
            return;
        };
        let stride = self.pixmap.width() as usize;
        let pixels = self.pixmap.pixels_mut();
        for y in y0..y1 {
            pixels[y * stride + x0..y * stride + x1].fill(px);
        }
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
        // RGBA to RGB in place, front to back, a block of pixels at a time through a small
        // copy: a block's RGB never reaches past its own RGBA, so no pixel is overwritten
        // before it is read, and there is no second buffer of the image's size (a byte at a
        // time with bounds checks took about 2.5x as long in a profile)
        let n = w as usize * h as usize;
        const BLOCK: usize = 1024;
        let mut tmp = [0u8; 4 * BLOCK];
        let mut i = 0;
        while i < n {
            let m = (n - i).min(BLOCK);
            tmp[..4 * m].copy_from_slice(&rgb[4 * i..4 * (i + m)]);
            let (dst, src) = (&mut rgb[3 * i..3 * (i + m)], &tmp[..4 * m]);
            // four pixels at a time in fixed-size arrays (one shuffle), then the rest
            let quads = m / 4;
            for (d, s) in dst.chunks_exact_mut(12).zip(src.chunks_exact(16)) {
                let s: &[u8; 16] = s.try_into().expect("16 bytes");
                let d: &mut [u8; 12] = d.try_into().expect("12 bytes");
                *d = [
                    s[0], s[1], s[2], s[4], s[5], s[6], s[8], s[9], s[10], s[12], s[13], s[14],
                ];
            }
            for (d, s) in dst[12 * quads..]
                .chunks_exact_mut(3)
                .zip(src[16 * quads..].chunks_exact(4))
            {
                d.copy_from_slice(&s[..3]);
            }
            i += m;
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
            // the Paeth filter on every row: the seven pages of a 10 s session take 1.797 MB,
            // against 1.785 MB with each row's filter chosen (png's adaptive, which runs all
            // five) and 3.5-4.1 MB with Sub or Up alone, for 9 % fewer instructions of the
            // whole drawing than adaptive; stronger deflate levels cost 10x more time
            enc.set_filter(png::Filter::Paeth);
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
        let c = s.color();
        // (an empty rectangle is left to tiny-skia, which still fills a line of pixels)
        if c.alpha >= 1.0
            && x0 != x1
            && y0 != y1
            && [x0, y0, x1, y1].iter().all(|v| v.fract() == 0.0)
        {
            self.fill_opaque(x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1), c);
            return Ok(());
        }
        let mut paint = paint(c);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic bytes (xorshift), so that every pixel differs from its neighbours.
    fn noise_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    fn pen(rgb: (u8, u8, u8), alpha: f64) -> plotters_backend::BackendColor {
        plotters_backend::BackendColor { alpha, rgb }
    }

    struct Pen(plotters_backend::BackendColor);
    impl BackendStyle for Pen {
        fn color(&self) -> BackendColor {
            self.0
        }
    }

    /// The direct fill of opaque whole-pixel rectangles writes exactly the pixels tiny-skia's
    /// own fill writes (tolerance: none), over a noisy background, for rectangles inside,
    /// across and beyond the image's edges, given either corner first.
    #[test]
    fn opaque_fill_matches_tiny_skia_pixel_for_pixel() {
        let (w, h, k) = (37u32, 29u32, 4u32);
        let rects = [
            ((3, 2), (20, 9)),
            ((30, 20), (5, 25)),
            ((-4, -3), (6, 40)),
            ((35, 27), (60, 60)),
            ((10, 10), (10, 12)),
            ((5, 5), (12, 5)),
            ((-10, -10), (-2, -2)),
            ((40, 3), (50, 8)),
            ((0, 0), (37, 29)),
        ];
        for (i, &(a, b)) in rects.iter().enumerate() {
            let bg = noise_bytes((w * h * 4) as usize, 7 + i as u64)
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect::<Vec<u8>>();
            let mut fast = RasterBackend::with_buffer(w, h, k, Vec::new()).unwrap();
            fast.pixmap.data_mut().copy_from_slice(&bg);
            let c = pen((200, 17, 99), 1.0);
            let (p, q) = (
                (a.0 * k as i32, a.1 * k as i32),
                (b.0 * k as i32, b.1 * k as i32),
            );
            fast.draw_rect(p, q, &Pen(c), true).unwrap();
            let mut slow = Pixmap::new(w, h).unwrap();
            slow.data_mut().copy_from_slice(&bg);
            let mut paint = paint(c);
            paint.anti_alias = false;
            let r = tiny_skia::Rect::from_ltrb(
                a.0.min(b.0) as f32,
                a.1.min(b.1) as f32,
                a.0.max(b.0) as f32,
                a.1.max(b.1) as f32,
            );
            if let Some(r) = r {
                slow.fill_rect(r, &paint, Transform::identity(), None);
            }
            assert!(
                fast.pixmap.data() == slow.data(),
                "rectangle {i} {a:?}-{b:?} differs"
            );
        }
    }

    /// RGBA to RGB in place is exact for image sizes that are not multiples of the block
    /// (1024 pixels) nor of the four pixels moved at a time (tolerance: none).
    #[test]
    fn png_holds_the_images_rgb_exactly() {
        for (w, h) in [(1, 1), (3, 1), (37, 29), (64, 16), (33, 32), (1025, 1)] {
            let rgba: Vec<u8> = noise_bytes((w * h * 4) as usize, u64::from(w * 31 + h))
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect();
            let mut db = RasterBackend::with_buffer(w, h, 1, vec![9; 5]).unwrap();
            db.pixmap.data_mut().copy_from_slice(&rgba);
            let (png, _buffer) = db.into_png();
            let png = png.unwrap();
            let dec = png::Decoder::new(std::io::Cursor::new(png));
            let mut reader = dec.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            assert_eq!((info.width, info.height), (w, h));
            let want: Vec<u8> = rgba
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            assert!(buf[..info.buffer_size()] == want[..], "{w}x{h}");
        }
    }
}
