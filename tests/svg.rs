//! The SVG plots read back by an independent renderer (resvg, with the same DejaVu fonts the
//! PNGs use) and held against the PNGs drawn from the same pages: both come from one drawing
//! code through two plotters backends, so they must show the same picture.

mod common;
use common::sweeplab;

use std::path::Path;

/// Decodes an 8-bit RGB PNG: (width, height, RGB bytes).
fn read_png(p: &Path) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().expect("a PNG of sane size")];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", p.display());
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Renders an SVG with resvg onto white: (width, height, RGB bytes).
fn render_svg(p: &Path) -> (u32, u32, Vec<u8>) {
    let mut fonts = resvg::usvg::fontdb::Database::new();
    fonts.load_font_data(dejavu::sans::regular().to_vec());
    fonts.load_font_data(dejavu::sans::bold().to_vec());
    let opt = resvg::usvg::Options {
        fontdb: std::sync::Arc::new(fonts),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_data(&std::fs::read(p).unwrap(), &opt)
        .unwrap_or_else(|e| panic!("{} does not parse as SVG: {e}", p.display()));
    let size = tree.size().to_int_size();
    let mut pm = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    pm.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pm.as_mut(),
    );
    let rgb = pm
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    (size.width(), size.height(), rgb)
}

/// Fraction of pixels of `a` (`w` wide) that no pixel of `b` within one pixel matches to
/// `tol` in every channel, and back (so a sub-pixel shift of an anti-aliased edge does not
/// count, but a missing, added or moved element does); and `a`'s fraction of non-white.
fn differ(a: &[u8], b: &[u8], w: usize, tol: u8) -> (f64, f64) {
    let n = a.len() / 3;
    let h = n / w;
    let unmatched = |a: &[u8], b: &[u8]| {
        let mut bad = 0usize;
        for y in 0..h {
            for x in 0..w {
                let p = &a[(y * w + x) * 3..][..3];
                let near = (y.saturating_sub(1)..=(y + 1).min(h - 1)).any(|yy| {
                    (x.saturating_sub(1)..=(x + 1).min(w - 1)).any(|xx| {
                        let q = &b[(yy * w + xx) * 3..][..3];
                        p.iter().zip(q).all(|(u, v)| u.abs_diff(*v) <= tol)
                    })
                });
                if !near {
                    bad += 1;
                }
            }
        }
        bad
    };
    let bad = unmatched(a, b) + unmatched(b, a);
    let ink = a.chunks_exact(3).filter(|p| *p != [255, 255, 255]).count();
    (bad as f64 / n as f64, ink as f64 / n as f64)
}

#[test]
fn svg_plots_show_what_the_pngs_show() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = sweeplab(&[
        "analyze",
        "fixtures/sessions/studio-headphones",
        "--out",
        out.to_str().unwrap(),
        "--format",
        "png,svg",
        "--size",
        "1200x800",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_pictures(
        &out,
        &[
            "response",
            "distortion",
            "noise",
            "impulse",
            "decay",
            "spectrogram",
            "overview",
        ],
    );
}

/// The pages only a re-seat series and a level series draw: the spread's band of whole-pixel
/// fills on the response, and the distortion-against-level page.
#[test]
fn svg_of_a_series_shows_what_the_png_shows() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.toml");
    std::fs::write(
        &model,
        "name = \"m\"\nkind = \"headphones\"\ngain_db = -3\n\
         [nonlinearity]\ntype = \"soft_clip\"\ndrive = 4.0\n\
         [[noise]]\ntype = \"white\"\nlevel_dbfs = -100\n[fit]\nbass_db = 3\ntreble_db = 2\n",
    )
    .unwrap();
    let s = dir.path().join("s");
    let o = sweeplab(&[
        "simulate",
        "--model",
        model.to_str().unwrap(),
        "--out",
        s.to_str().unwrap(),
        "--duration",
        "2",
        "--reseats",
        "3",
        "--levels=-24,-18,-12",
        "--no-analyze",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("r");
    let o = sweeplab(&[
        "analyze",
        s.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "png,svg",
        "--size",
        "1200x800",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_pictures(&out, &["response", "distortion-vs-level"]);
}

/// Each page's SVG, drawn by resvg, against its PNG (see [`differ`]).
fn same_pictures(out: &Path, pages: &[&str]) {
    for &page in pages {
        let (pw, ph, png) = read_png(&out.join(format!("{page}.png")));
        let svg_path = out.join(format!("{page}.svg"));
        let (sw, sh, svg) = render_svg(&svg_path);
        if let Ok(d) = std::env::var("SWEEPLAB_SVG_LOOK") {
            // for looking at them: the SVG as resvg draws it, beside the PNG
            let f = std::fs::File::create(Path::new(&d).join(format!("{page}-svg.png"))).unwrap();
            let mut e = png::Encoder::new(f, sw, sh);
            e.set_color(png::ColorType::Rgb);
            let mut w = e.write_header().unwrap();
            w.write_image_data(&svg).unwrap();
            std::fs::copy(
                out.join(format!("{page}.png")),
                Path::new(&d).join(format!("{page}.png")),
            )
            .unwrap();
        }
        assert_eq!(
            (sw, sh),
            (pw, ph),
            "{page}: the SVG is as many pixels as the PNG"
        );
        let (bad, ink) = differ(&png, &svg, pw as usize, 64);
        eprintln!(
            "{page}: {:.3} % of pixels differ by more than 64/255 from all neighbours; ink {:.1} %; {:.1} % of ink",
            bad * 100.0,
            ink * 100.0,
            bad / ink * 100.0
        );
        // Tolerance: the two rasterisers' anti-aliasing and glyph hinting leave 0.07–0.23 %
        // of pixels (≤ 1.8 % of the ink) unmatched; an SVG without its text left 0.79 %
        // (9.9 % of the ink), curves moved down by 3 px 0.47–0.91 %, a missing curve more.
        assert!(ink > 0.02, "{page}: the PNG is blank");
        assert!(
            bad < 0.004 && bad / ink < 0.035,
            "{page}: {:.2} % of pixels ({:.1} % of the ink) differ",
            bad * 100.0,
            bad / ink * 100.0
        );
        let text = std::fs::read_to_string(&svg_path).unwrap();
        assert!(
            text.contains("Frequency (Hz)") || text.contains("Sweep level") || page == "impulse",
            "{page}: axis label text"
        );
    }
}

#[test]
fn format_svg_alone_writes_no_png_and_compare_writes_both() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = sweeplab(&[
        "analyze",
        "fixtures/sessions/loopback",
        "--out",
        out.to_str().unwrap(),
        "--format",
        "svg",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("response.svg").exists());
    assert!(!out.join("response.png").exists());
    let cmp = dir.path().join("c");
    let o = sweeplab(&[
        "compare",
        "fixtures/sessions/loopback",
        "fixtures/sessions/studio-headphones",
        "--out",
        cmp.to_str().unwrap(),
        "--format",
        "png,svg",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["compare-response", "compare-deviation", "compare-metrics"] {
        for ext in ["png", "svg"] {
            let p = cmp.join(format!("{f}.{ext}"));
            assert!(p.exists(), "{} missing", p.display());
        }
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cmp.join("compare.json")).unwrap()).unwrap();
    let files = v["files"].to_string();
    assert!(files.contains("compare-response.svg"), "{files}");
    // a format that does not exist is refused before any work
    let o = sweeplab(&[
        "analyze",
        "fixtures/sessions/loopback",
        "--out",
        dir.path().join("x").to_str().unwrap(),
        "--format",
        "pdf",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("x").exists());
}
