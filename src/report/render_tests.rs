//! Plot files as written: sizes, formats, odd data, bad sizes and write failures.

use super::tests::{decode_png, highpass_analysis};
use super::*;
use crate::testkit::example;

/// Checks that a written PNG has the requested size and is not blank.
fn check_png(path: &std::path::Path, w: u32, h: u32) {
    let bytes = std::fs::read(path).unwrap();
    let (pw, ph, rgb) = decode_png(&bytes);
    assert_eq!((pw, ph), (w, h), "{}", path.display());
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    for px in rgb.chunks_exact(3) {
        colours.insert([px[0], px[1], px[2]]);
        if px != [255, 255, 255] {
            ink += 1;
        }
    }
    let frac = ink as f64 / (w * h) as f64;
    assert!(
        colours.len() > 20,
        "{}: {} colours",
        path.display(),
        colours.len()
    );
    assert!(
        frac > 0.01,
        "{}: {:.3} non-background",
        path.display(),
        frac
    );
}

pub(super) const FILES: [&str; 8] = [
    "response.png",
    "distortion.png",
    "noise.png",
    "impulse.png",
    "decay.png",
    "spectrogram.png",
    "overview.png",
    "summary.md",
];

#[test]
fn renders_all_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = highpass_analysis();
    let opts = RenderOptions::default();
    let written = render_analysis(&a, dir.path(), &opts).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, FILES);
    for p in &written[..7] {
        check_png(p, 1600, 1000);
    }
    // nothing else (no temporary files) is left behind
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 8);
}

#[test]
fn renders_small_size_with_warnings_and_missing_noise() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = example::analysis(2);
    for ch in &mut a.channels {
        ch.noise = None;
        ch.snr_db = None;
        ch.warnings = vec![
            "clipping: 3 samples at full scale".into(),
            "no signal above 15 kHz".into(),
        ];
    }
    let opts = RenderOptions {
        width: 800,
        height: 500,
        smoothing: Some(3.0),
        ..RenderOptions::default()
    };
    let written = render_analysis(&a, dir.path(), &opts).unwrap();
    for p in &written[..7] {
        check_png(p, 800, 500);
    }
    let md = std::fs::read_to_string(&written[7]).unwrap();
    assert!(md.contains("clipping: 3 samples at full scale"));
    assert!(md.contains("| Noise (20 Hz–20 kHz) | n/a | n/a |"), "{md}");
}

/// Analyses with empty, single-point, mismatched, NaN/inf/huge and missing data.
pub(super) fn odd_cases() -> Vec<Analysis> {
    let base = example::analysis(1);
    let mut cases: Vec<Analysis> = Vec::new();
    // everything empty
    let mut a = base.clone();
    {
        let ch = &mut a.channels[0];
        ch.frequency_response.freq_hz.clear();
        ch.frequency_response.gain_db.clear();
        ch.frequency_response.phase_deg.clear();
        ch.frequency_response.group_delay_s.clear();
        ch.thd.freq_hz.clear();
        ch.thd.percent.clear();
        ch.thd.harmonics.clear();
        ch.impulse.samples.clear();
        ch.noise.as_mut().unwrap().spectrum.freq_hz.clear();
        ch.noise.as_mut().unwrap().spectrum.dbfs_per_hz.clear();
        ch.latency_s = None;
    }
    cases.push(a);
    // a single point everywhere, mismatched lengths
    let mut a = base.clone();
    {
        let ch = &mut a.channels[0];
        ch.frequency_response.freq_hz = vec![1000.0, 2000.0];
        ch.frequency_response.gain_db = vec![-3.0];
        ch.frequency_response.phase_deg = vec![10.0];
        ch.thd.freq_hz = vec![1000.0];
        ch.thd.percent = vec![0.1];
        ch.impulse.samples = vec![0.5];
    }
    cases.push(a);
    // NaN, -inf, +inf, huge and zero values; a silent impulse; a reversed sweep band
    let mut a = base.clone();
    {
        a.sweep.start_hz = 20000.0;
        a.sweep.end_hz = f64::NAN;
        a.sample_rate = 0;
        let ch = &mut a.channels[0];
        for (i, g) in ch.frequency_response.gain_db.iter_mut().enumerate() {
            *g = match i % 5 {
                0 => f64::NAN,
                1 => f64::NEG_INFINITY,
                2 => 1e300,
                3 => f64::INFINITY,
                _ => -1e300,
            };
        }
        for p in ch.thd.percent.iter_mut() {
            *p = 0.0;
        }
        for v in ch.impulse.samples.iter_mut() {
            *v = 0.0;
        }
        ch.impulse.sample_rate = 0;
        ch.latency_s = Some(f64::INFINITY);
        ch.noise.as_mut().unwrap().rms_dbfs = f64::NAN;
        ch.snr_db = Some(f64::NAN);
        ch.warnings = vec!["a | pipe\nand a very long warning ".repeat(20)];
    }
    cases.push(a);
    // all -inf
    let mut a = base.clone();
    for g in a.channels[0].frequency_response.gain_db.iter_mut() {
        *g = f64::NEG_INFINITY;
    }
    cases.push(a);
    // no channels at all
    let mut a = base.clone();
    a.channels.clear();
    a.label = None;
    a.created = None;
    cases.push(a);
    // a decay with rows shorter and longer than its frequencies, NaN, ±inf and nulls
    let mut a = base.clone();
    a.channels[0].csd = Some(crate::results::Csd {
        freq_hz: vec![100.0, 1000.0, f64::NAN, 10000.0],
        start_ms: vec![0.0, 1.0, f64::INFINITY],
        level_db: vec![
            vec![Some(0.0), Some(f64::NAN), None],
            vec![
                Some(-3.0),
                Some(f64::NEG_INFINITY),
                Some(1e300),
                Some(-5.0),
                Some(-6.0),
            ],
            vec![],
        ],
        end_ms: 10.0,
    });
    // a spectrogram with ragged rows, one frame, NaN times and nulls
    a.channels[0].spectrogram = Some(crate::results::Spectrogram {
        time_s: vec![0.5, f64::NAN, 2.0],
        freq_hz: vec![100.0, 200.0, 400.0],
        level_dbfs: vec![
            vec![Some(-20.0), None],
            vec![],
            vec![Some(f64::INFINITY); 5],
        ],
        frame_s: 0.1,
    });
    cases.push(a);
    // a spectrogram of silence only
    let mut a = base.clone();
    a.channels[0].spectrogram = Some(crate::results::Spectrogram {
        time_s: vec![0.5, 1.0],
        freq_hz: vec![100.0, 200.0],
        level_dbfs: vec![vec![None, None], vec![None, None]],
        frame_s: 0.1,
    });
    cases.push(a);
    cases
}

#[test]
fn odd_data_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RenderOptions {
        width: 640,
        height: 400,
        smoothing: Some(6.0),
        // odd data through both backends
        formats: vec![ImageFormat::Png, ImageFormat::Svg],
    };
    let cases = odd_cases();
    for (i, a) in cases.iter().enumerate() {
        let d = dir.path().join(i.to_string());
        std::fs::create_dir(&d).unwrap();
        let written = render_analysis(a, &d, &opts).unwrap();
        assert_eq!(
            written.len(),
            15,
            "case {i}: seven PNGs, seven SVGs, summary.md"
        );
        for p in &written[..14] {
            let bytes = std::fs::read(p).unwrap();
            if p.extension().is_some_and(|e| e == "svg") {
                let t = String::from_utf8(bytes).unwrap();
                assert!(
                    t.starts_with("<svg width=\"640\" height=\"400\""),
                    "{}",
                    p.display()
                );
                assert!(t.trim_end().ends_with("</svg>"), "{}", p.display());
            } else {
                let (w, h, _) = decode_png(&bytes);
                assert_eq!((w, h), (640, 400));
            }
        }
    }
}

#[test]
fn bad_size_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = example::analysis(1);
    for (w, h) in [(0, 0), (100, 1000), (1600, 20000)] {
        let opts = RenderOptions {
            width: w,
            height: h,
            smoothing: None,
            ..RenderOptions::default()
        };
        match render_analysis(&a, dir.path(), &opts) {
            Err(Error::BadUsage { flag, .. }) => assert_eq!(flag, "--size"),
            other => panic!("{w}x{h}: {other:?}"),
        }
    }
}

#[test]
fn write_failure_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist");
    let err =
        render_analysis(&example::analysis(1), &missing, &RenderOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does-not-exist"), "{err}");
}

/// Curves and metrics shaped like what `compare` will pass to the helpers.
#[allow(clippy::type_complexity)]
pub(super) fn compare_like_data() -> (Vec<Series>, Vec<String>, Vec<(String, Vec<Option<f64>>)>) {
    let a = example::analysis(2);
    let curves = a
        .channels
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let (x, y) = smoothed_db(
                &ch.frequency_response.freq_hz,
                &ch.frequency_response.gain_db,
                6.0,
            );
            Series::new(["Device A", "Device B"][i], x, y)
        })
        .collect();
    let cats = vec![
        "bass (dB)".into(),
        "treble (dB)".into(),
        "SNR (dB)".into(),
        "THD 1 kHz (%)".into(),
    ];
    let groups = vec![
        (
            "Device A".into(),
            vec![Some(2.5), Some(-4.0), Some(61.2), Some(0.04)],
        ),
        (
            "Device B".into(),
            vec![None, Some(-1.5), Some(48.0), Some(0.3)],
        ),
    ];
    (curves, cats, groups)
}

#[test]
fn overlay_and_bars_render() {
    let dir = tempfile::tempdir().unwrap();
    let (curves, cats, groups) = compare_like_data();
    let opts = RenderOptions::default();
    let p = dir.path().join("overlay.png");
    render_overlay(
        &p,
        "Frequency response",
        "Gain (dB)",
        &curves,
        (20.0, 20000.0),
        &opts,
    )
    .unwrap();
    check_png(&p, 1600, 1000);
    let p = dir.path().join("bars.png");
    render_bars(&p, "Metrics", &cats, &groups, &opts).unwrap();
    check_png(&p, 1600, 1000);
    // nothing to draw is still a valid image
    let p = dir.path().join("empty.png");
    render_overlay(&p, "Nothing", "dB", &[], (0.0, 0.0), &opts).unwrap();
    render_bars(&p, "Nothing", &[], &[], &opts).unwrap();
}

/// The overview of a two-sided session: the noise panel's legend (each side's levels) and the
/// distortion panel's hide no data. Before, the noise legend had three lines of levels per
/// side and covered the curves below 500 Hz (here it crossed 319 segments); on the demo's
/// two-sided headphones the distortion legend also listed H4 and H5, never measured, and
/// covered the THD above 5 kHz.
#[test]
fn two_sided_overview_legends_hide_no_data() {
    let mut a = crate::testkit::example::analysis(2);
    // as the simulated studio headphones' two sides read: white noise at about −138 dB/Hz
    // with its scatter, THD 0.03 % up to 9.5 kHz from H2 and H3 only
    for ch in &mut a.channels {
        for (i, v) in ch
            .noise
            .as_mut()
            .unwrap()
            .spectrum
            .dbfs_per_hz
            .iter_mut()
            .enumerate()
        {
            *v = -138.0 + 4.0 * ((i * 7919 % 13) as f64 / 6.0 - 1.0);
        }
        let t = &mut ch.thd;
        let n = t.freq_hz.iter().filter(|f| **f <= 9500.0).count();
        t.freq_hz.truncate(n);
        t.percent = (0..n)
            .map(|i| 0.03 + 0.01 * ((i * 31 % 7) as f64 / 7.0))
            .collect();
        for h in &mut t.harmonics {
            h.relative_db = match h.order {
                2 => vec![Some(-71.0); n],
                3 => vec![Some(-80.0); n],
                _ => vec![None; n],
            };
        }
    }
    super::layout::HIDDEN.with(|h| h.borrow_mut().clear());
    super::pages::overview_image(&a, &RenderOptions::default()).unwrap();
    let hidden = super::layout::HIDDEN.with(|h| h.borrow().clone());
    for want in ["Noise floor", "Distortion"] {
        let (title, score) = hidden
            .iter()
            .find(|(t, _)| t.as_deref().is_some_and(|t| t.starts_with(want)))
            .unwrap_or_else(|| panic!("no {want} panel in {hidden:?}"));
        assert_eq!(*score, 0.0, "{title:?}: the legend hides data ({hidden:?})");
    }
}
