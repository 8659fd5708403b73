//! Turns a page's display list ([`Canvas`]) into files through plotters' drawing backends:
//! PNG through [`RasterBackend`] (tiny-skia, anti-aliased, the embedded fonts laid out with
//! correct bearings) and SVG through plotters' own `SVGBackend`. Both get the same calls, so a
//! PNG and its SVG show the same plot. Must not import anything outside `report`.

mod raster;

use plotters::backend::SVGBackend;
use plotters_backend::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{
    BackendColor, BackendStyle, DrawingBackend, DrawingErrorKind, FontTransform,
};

pub(crate) use raster::RasterBackend;

use super::canvas::{Align, Canvas, Op, Rect, Rgb, clip_segment};
use super::text::{self, GlyphStyle};

/// Backend units per pixel. Plotters' coordinates and stroke widths are integers, so both
/// backends work in quarter pixels: curves keep sub-pixel vertices and a 1.5 px stroke its
/// width (the SVG's viewBox is in these units, its width and height in pixels).
pub(crate) const UNITS_PER_PX: u32 = 4;

/// A stroke or fill colour with a width in backend units.
struct Pen {
    color: BackendColor,
    width: u32,
}

impl BackendStyle for Pen {
    fn color(&self) -> BackendColor {
        self.color
    }
    fn stroke_width(&self) -> u32 {
        self.width
    }
}

fn color(c: Rgb, alpha: f64) -> BackendColor {
    BackendColor {
        alpha,
        rgb: (c[0], c[1], c[2]),
    }
}

/// Draws every recorded operation, in order, through `db` (whose units are
/// [`UNITS_PER_PX`] per pixel), then presents it.
pub(crate) fn replay<DB: DrawingBackend>(c: &Canvas, db: &mut DB) -> Result<(), String> {
    let s = UNITS_PER_PX as f64;
    let u = |v: f64| (v * s).round() as i32;
    let err = |e: DrawingErrorKind<DB::ErrorType>| e.to_string();
    db.ensure_prepared().map_err(err)?;
    for op in &c.ops {
        match op {
            Op::Fill {
                r,
                color: rgb,
                alpha,
            } => {
                let pen = Pen {
                    color: color(*rgb, *alpha),
                    width: 0,
                };
                db.draw_rect((u(r.x0), u(r.y0)), (u(r.x1), u(r.y1)), &pen, true)
                    .map_err(err)?;
            }
            Op::Line { pts, stroke, clip } => {
                let pen = Pen {
                    color: color(stroke.color, stroke.alpha.min(1.0)),
                    width: (stroke.width * s).round().max(1.0) as u32,
                };
                for run in clip_runs(pts, *clip) {
                    let pieces = match stroke.dash {
                        Some((on, off)) if on > 0.0 && off >= 0.0 => dash_runs(&run, on, off),
                        _ => vec![run],
                    };
                    for piece in pieces {
                        let mut path: Vec<(i32, i32)> =
                            piece.iter().map(|p| (u(p.0), u(p.1))).collect();
                        path.dedup();
                        if path.len() == 1 {
                            path.push(path[0]); // a dot: round caps draw it
                        }
                        db.draw_path(path, &pen).map_err(err)?;
                    }
                }
            }
            Op::Text {
                text,
                x,
                y,
                size,
                color: rgb,
                align,
                bold,
                vertical,
            } => {
                let drop = text::top_to_baseline(*size);
                let (h_pos, pos, transform) = if *vertical {
                    (HPos::Center, (x - drop, *y), FontTransform::Rotate270)
                } else {
                    let h = match align {
                        Align::Left => HPos::Left,
                        Align::Center => HPos::Center,
                        Align::Right => HPos::Right,
                    };
                    (h, (*x, y - drop), FontTransform::None)
                };
                let style = GlyphStyle {
                    size: text::plotters_size(*size) * s,
                    bold: *bold,
                    color: *rgb,
                    anchor: Pos::new(h_pos, VPos::Top),
                    transform,
                };
                db.draw_text(text, &style, (u(pos.0), u(pos.1)))
                    .map_err(err)?;
            }
        }
    }
    db.present().map_err(err)
}

/// The parts of a polyline inside `clip`: runs of whole segments, cut where it leaves.
fn clip_runs(pts: &[(f64, f64)], clip: Rect) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    if pts.len() == 1 {
        if clip.contains(pts[0].0, pts[0].1) {
            runs.push(vec![pts[0]]);
        }
        return runs;
    }
    let mut cur: Vec<(f64, f64)> = Vec::new();
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let Some((t0, t1)) = clip_segment(a, b, clip) else {
            if cur.len() > 1 {
                runs.push(std::mem::take(&mut cur));
            }
            cur.clear();
            continue;
        };
        let at = |t: f64| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        if t0 > 0.0 || cur.is_empty() {
            if cur.len() > 1 {
                runs.push(std::mem::take(&mut cur));
            }
            cur = vec![at(t0)];
        }
        cur.push(at(t1));
        if t1 < 1.0 {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if cur.len() > 1 {
        runs.push(cur);
    }
    runs
}

/// The dashes of a polyline: pieces `on` pixels long every `on + off` pixels of arc length.
fn dash_runs(pts: &[(f64, f64)], on: f64, off: f64) -> Vec<Vec<(f64, f64)>> {
    let period = on + off;
    let mut out = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let mut arc = 0.0; // arc length at the start of the current segment
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let at = |d: f64| {
            let t = ((d - arc) / len).clamp(0.0, 1.0);
            (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
        };
        let seg_end = arc + len;
        let mut d = arc;
        while d < seg_end {
            let dash_start = (d / period).floor() * period;
            let dash_end = dash_start + on;
            if d < dash_end - 1e-12 {
                // inside a dash: on to its end or the segment's end, whichever comes first
                let e = dash_end.min(seg_end);
                if cur.is_empty() {
                    cur.push(at(d));
                }
                cur.push(at(e));
                if e >= dash_end - 1e-12 {
                    out.push(std::mem::take(&mut cur));
                }
                d = e;
            } else {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                d = dash_start + period;
            }
        }
        arc += len;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Encodes the canvas as an 8-bit RGB PNG, drawn through [`RasterBackend`].
/// Drawn into `spare`'s memory (empty, or the buffer of an earlier image), which then holds
/// this image's buffer for the next page of the same thread.
pub(crate) fn to_png_reusing(c: &Canvas, spare: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    let mut db = RasterBackend::with_buffer(c.w, c.h, UNITS_PER_PX, std::mem::take(spare))?;
    replay(c, &mut db)?;
    let (png, buffer) = db.into_png();
    *spare = buffer;
    png
}

/// The canvas as an SVG document, drawn through plotters' `SVGBackend`.
pub(crate) fn to_svg(c: &Canvas) -> Result<String, String> {
    let k = UNITS_PER_PX;
    let mut doc = String::new();
    {
        let mut db = SVGBackend::with_string(&mut doc, (c.w * k, c.h * k));
        replay(c, &mut db)?;
    }
    // the viewBox stays in backend units; the image is as many pixels wide as the PNG
    let units = format!("width=\"{}\" height=\"{}\"", c.w * k, c.h * k);
    let Some(at) = doc.find(&units) else {
        return Err("plotters' SVG backend wrote an unexpected header".into());
    };
    doc.replace_range(
        at..at + units.len(),
        &format!("width=\"{}\" height=\"{}\"", c.w, c.h),
    );
    // plotters' polylines have no join or cap: round ones, as the PNG draws them
    let Some(open_end) = doc[at..].find('>').map(|i| at + i + 1) else {
        return Err("plotters' SVG backend wrote an unexpected header".into());
    };
    doc.insert_str(
        open_end,
        "\n<style>polyline{stroke-linejoin:round;stroke-linecap:round}</style>",
    );
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arc length of a polyline.
    fn length(p: &[(f64, f64)]) -> f64 {
        p.windows(2)
            .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
            .sum()
    }

    #[test]
    fn dashes_have_their_length_and_period() {
        // an L-shaped line 100 + 60 px long, dashes 8 on / 4 off: exact to 1e-9 px
        let pts = [(0.0, 0.0), (100.0, 0.0), (100.0, 60.0)];
        let d = dash_runs(&pts, 8.0, 4.0);
        assert_eq!(d.len(), 14); // starts at 0, 12, …, 156 (the last one 4 px long)
        for (i, piece) in d.iter().enumerate() {
            let want = if i == 13 { 4.0 } else { 8.0 };
            assert!(
                (length(piece) - want).abs() < 1e-9,
                "dash {i}: {}",
                length(piece)
            );
        }
        // the dash across the corner (arc 96..104) bends with the line
        assert_eq!(d[8], vec![(96.0, 0.0), (100.0, 0.0), (100.0, 4.0)]);
    }

    #[test]
    fn clipping_cuts_where_the_line_leaves() {
        let clip = Rect::new(0.0, 0.0, 10.0, 10.0);
        let pts = [
            (-5.0, 5.0),
            (5.0, 5.0),
            (5.0, 15.0),
            (8.0, 15.0),
            (8.0, 5.0),
            (9.0, 5.0),
        ];
        let runs = clip_runs(&pts, clip);
        assert_eq!(
            runs,
            vec![
                vec![(0.0, 5.0), (5.0, 5.0), (5.0, 10.0)],
                vec![(8.0, 10.0), (8.0, 5.0), (9.0, 5.0)],
            ]
        );
        assert!(clip_runs(&[(20.0, 20.0), (30.0, 30.0)], clip).is_empty());
        assert_eq!(clip_runs(&[(1.0, 1.0)], clip), vec![vec![(1.0, 1.0)]]);
    }
}
