//! The series, axes, summary and phase-unwrapping tests of the report (the plot files' tests
//! are in `render_tests.rs`).

use super::*;
use crate::dsp::smoothing::smooth_db;
use crate::results::HarmonicCurve;
use crate::testkit::example;

use super::render_tests::{FILES, compare_like_data, odd_cases};

/// An analysis whose response is exactly a 2nd-order Butterworth high-pass at 100 Hz
/// (0 dB passband), with known THD, harmonics, noise and impulse.
pub(super) fn highpass_analysis() -> Analysis {
    let mut a = example::analysis(1);
    let ch = &mut a.channels[0];
    let fr = &mut ch.frequency_response;
    fr.gain_db = fr
        .freq_hz
        .iter()
        .map(|&f| {
            let (re, im) = example::highpass2(f, 100.0, std::f64::consts::FRAC_1_SQRT_2);
            10.0 * (re * re + im * im).log10()
        })
        .collect();
    // THD only up to 5 kHz, 1 % at 100 Hz falling as 1/f
    let tf: Vec<f64> = fr
        .freq_hz
        .iter()
        .copied()
        .filter(|f| *f <= 5000.0)
        .collect();
    ch.thd.percent = tf.iter().map(|f| 100.0 / f).collect();
    ch.thd.harmonics = vec![
        HarmonicCurve {
            order: 2,
            relative_db: tf.iter().map(|f| Some(20.0 * (0.9 / f).log10())).collect(),
        },
        HarmonicCurve {
            order: 3,
            relative_db: tf
                .iter()
                .map(|f| (*f * 3.0 <= 12000.0).then(|| 20.0 * (0.3 / f).log10()))
                .collect(),
        },
    ];
    ch.thd.freq_hz = tf;
    a
}

/// Writes every plot of a few analyses to `$SWEEPLAB_REPORT_LOOK` (for eyeballing).
#[test]
fn write_look_images() {
    let Ok(dir) = std::env::var("SWEEPLAB_REPORT_LOOK") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut two = example::analysis(2);
    two.channels[1].warnings = vec!["clipping: 12 samples at full scale".into()];
    two.channels[1].noise = None;
    two.channels[1].snr_db = None;
    let cases = [
        ("one", example::analysis(1), RenderOptions::default()),
        ("two", two, RenderOptions::default()),
        (
            "small",
            example::analysis(1),
            RenderOptions {
                width: 800,
                height: 500,
                ..Default::default()
            },
        ),
    ];
    let mut nonoise = example::analysis(1);
    nonoise.channels[0].noise = None;
    nonoise.channels[0].snr_db = None;
    nonoise.channels[0].warnings = vec![
        "no pre-roll silence before the sweep".into(),
        "clipping: 3 samples at full scale".into(),
        "level at 1 kHz is 60 dB below the sweep".into(),
        "fourth warning".into(),
    ];
    let mut cases = cases.to_vec();
    cases.push(("nonoise", nonoise, RenderOptions::default()));
    for (i, a) in odd_cases().into_iter().enumerate() {
        cases.push((
            ["odd0", "odd1", "odd2", "odd3", "odd4"][i],
            a,
            RenderOptions::default(),
        ));
    }
    for (name, a, opts) in cases {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        render_analysis(&a, &d, &opts).unwrap();
    }
    let (curves, cats, groups) = compare_like_data();
    let opts = RenderOptions::default();
    render_overlay(
        &dir.join("overlay.png"),
        "Frequency response, 1/6 octave",
        "Gain (dB)",
        &curves,
        (20.0, 20000.0),
        &opts,
    )
    .unwrap();
    render_bars(&dir.join("bars.png"), "Key metrics", &cats, &groups, &opts).unwrap();
}

/// Decodes a PNG into (width, height, RGB bytes).
pub(crate) fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().expect("a PNG of sane size")];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Crops a PNG file to a region at 100 % (for looking at text up close).
#[test]
fn write_look_crops() {
    let Ok(spec) = std::env::var("SWEEPLAB_REPORT_CROP") else {
        return;
    };
    // "in.png,out.png,x,y,w,h"
    let p: Vec<&str> = spec.split(',').collect();
    let (w, _h, rgb) = decode_png(&std::fs::read(p[0]).unwrap());
    let n: Vec<u32> = p[2..6].iter().map(|v| v.parse().unwrap()).collect();
    let mut out = Vec::new();
    for y in n[1]..n[1] + n[3] {
        let i = ((y * w + n[0]) * 3) as usize;
        out.extend_from_slice(&rgb[i..i + n[2] as usize * 3]);
    }
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, n[2], n[3]);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header().unwrap();
    wr.write_image_data(&out).unwrap();
    wr.finish().unwrap();
    std::fs::write(p[1], bytes).unwrap();
}

#[test]
fn response_series_match_analysis() {
    let a = highpass_analysis();
    let opts = RenderOptions::default();
    let s = response_series(&a, &opts);
    assert_eq!(s.len(), 2);
    let fr = &a.channels[0].frequency_response;
    assert_eq!(s[0].name, "ch0 raw");
    assert_eq!(s[0].style, SeriesStyle::Faint);
    assert_eq!(s[0].x, fr.freq_hz);
    assert_eq!(s[0].y, fr.gain_db);
    assert_eq!(s[1].name, "ch0 1/6 oct");
    assert_eq!(s[1].style, SeriesStyle::Bold);
    assert_eq!(s[1].x, fr.freq_hz);
    assert_eq!(
        s[1].y,
        smooth_db(&fr.freq_hz, &fr.gain_db, &fr.freq_hz, 6.0)
    );
    // 1/3 octave: label and data follow the option
    let s3 = response_series(
        &a,
        &RenderOptions {
            smoothing: Some(3.0),
            ..opts.clone()
        },
    );
    assert_eq!(s3[1].name, "ch0 1/3 oct");
    assert_eq!(
        s3[1].y,
        smooth_db(&fr.freq_hz, &fr.gain_db, &fr.freq_hz, 3.0)
    );
    // no smoothing: the raw curve alone, bold
    let s0 = response_series(
        &a,
        &RenderOptions {
            smoothing: None,
            ..opts
        },
    );
    assert_eq!(s0.len(), 1);
    assert_eq!(s0[0].style, SeriesStyle::Bold);
    assert_eq!(s0[0].y, fr.gain_db);
}

#[test]
fn two_channels_get_their_own_colours() {
    let a = example::analysis(2);
    let s = response_series(&a, &RenderOptions::default());
    assert_eq!(s.len(), 4);
    assert_eq!(s[0].color, s[1].color);
    assert_ne!(s[1].color, s[2].color);
    assert_eq!(s[2].name, "ch1 raw");
    assert_eq!(s[2].y, a.channels[1].frequency_response.gain_db);
}

#[test]
fn smoothing_skips_unusable_points() {
    let mut a = highpass_analysis();
    a.channels[0].frequency_response.gain_db[10] = f64::NAN;
    let s = response_series(&a, &RenderOptions::default());
    // the raw series keeps the gap (the line breaks there); the smoothed one skips the
    // point, and bridges the step it leaves (narrower than a hole: 1/12 octave)
    assert!(s[0].y[10].is_nan());
    assert_eq!(s[1].x.len(), s[0].x.len() - 1);
    assert!(s[1].y.iter().all(|v| v.is_finite()));
}

#[test]
fn distortion_series_are_percentages() {
    let a = highpass_analysis();
    let s = distortion_series(&a);
    let t = &a.channels[0].thd;
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].name, "ch0 THD");
    assert_eq!(s[0].x, t.freq_hz);
    assert_eq!(s[0].y, t.percent);
    assert_eq!(s[1].name, "ch0 H2");
    for (i, y) in s[1].y.iter().enumerate() {
        let want = 100.0 * 10f64.powf(t.harmonics[0].relative_db[i].unwrap() / 20.0);
        assert_eq!(*y, want);
        // H2 was built as 0.9 % of the THD's 1/f shape
        assert!((y - 90.0 / t.freq_hz[i]).abs() < 1e-9 * y.max(1.0));
    }
    assert_eq!(s[2].name, "ch0 H3");
    for (i, y) in s[2].y.iter().enumerate() {
        match t.harmonics[1].relative_db[i] {
            Some(db) => assert_eq!(*y, relative_db_to_percent(db)),
            None => assert!(y.is_nan(), "a missing harmonic must be a gap"),
        }
    }
    assert!(s[2].y.iter().any(|v| v.is_nan()));
}

/// A harmonic that was never measured has no series (and so no legend entry for a curve
/// that is not drawn); one measured at a single point keeps its series.
#[test]
fn distortion_series_leave_out_harmonics_never_measured() {
    let mut a = highpass_analysis();
    let n = a.channels[0].thd.freq_hz.len();
    a.channels[0].thd.harmonics[1].relative_db = vec![None; n];
    let names: Vec<String> = distortion_series(&a).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["ch0 THD", "ch0 H2"]);
    a.channels[0].thd.harmonics[1].relative_db[n / 2] = Some(-60.0);
    let names: Vec<String> = distortion_series(&a).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["ch0 THD", "ch0 H2", "ch0 H3"]);
}

#[test]
fn noise_series_follow_the_spectrum() {
    let mut a = example::analysis(2);
    a.channels[1].noise = None;
    let opts = RenderOptions::default();
    let s = noise_series(&a, &opts);
    assert_eq!(s.len(), 2, "only the measured channel has noise curves");
    let sp = &a.channels[0].noise.as_ref().unwrap().spectrum;
    assert_eq!(s[0].x, sp.freq_hz);
    assert_eq!(s[0].y, sp.dbfs_per_hz);
    // the 0 Hz bin cannot be placed on a log axis: the smoothed curve starts above it
    assert_eq!(s[1].x, sp.freq_hz[1..].to_vec());
    assert_eq!(
        s[1].y,
        smooth_db(
            &sp.freq_hz[1..],
            &sp.dbfs_per_hz[1..],
            &sp.freq_hz[1..],
            6.0
        )
    );
    assert!(s.iter().all(|x| x.channel == 0));
}

#[test]
fn impulse_series_are_relative_to_the_peak() {
    let a = highpass_analysis();
    let ch = &a.channels[0];
    let s = impulse_series(&a);
    assert_eq!(s.len(), 2);
    let (ir, etc) = (&s[0], &s[1]);
    assert_eq!((ir.panel, etc.panel), (0, 1));
    let sr = ch.impulse.sample_rate as f64;
    for (i, x) in ir.x.iter().enumerate() {
        let want = (ch.impulse.start_s + i as f64 / sr - ch.latency_s.unwrap()) * 1000.0;
        assert!((x - want).abs() < 1e-9);
        assert_eq!(ir.y[i], ch.impulse.samples[i] as f64);
    }
    // the peak sits at 0 ms (the latency), the ETC is 0 dB there and never below the floor
    let (ip, _) =
        ir.y.iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap();
    assert!(ir.x[ip].abs() < 1000.0 / sr, "peak at {} ms", ir.x[ip]);
    assert_eq!(etc.y[ip], 0.0);
    assert!(etc.y.iter().all(|v| *v <= 0.0 && *v >= ETC_FLOOR_DB));
    let peak = ir.y[ip].abs();
    for (h, e) in ir.y.iter().zip(&etc.y) {
        assert!((e - (20.0 * (h.abs() / peak).log10()).max(ETC_FLOOR_DB)).abs() < 1e-9);
    }
}

#[test]
fn db_range_is_rounded_wide_enough_and_centred() {
    // a flat line is centred in a 20+ dB window, not squashed against an edge
    let (lo, hi) = db_axis_range(&[-6.0; 100], 20.0);
    assert_eq!((lo, hi), (-20.0, 5.0));
    assert!(hi - lo >= 20.0);
    assert!(((-6.0 - lo) - (hi + 6.0)).abs() <= 5.0);
    // rounded outwards to 5 dB
    let v: Vec<f64> = (0..500).map(|i| -27.3 + 30.0 * i as f64 / 499.0).collect();
    let (lo, hi) = db_axis_range(&v, 20.0);
    assert_eq!((lo, hi), (-30.0, 5.0));
    // a wide range rounds to 10 dB
    let v: Vec<f64> = (0..500).map(|i| -83.0 + 80.0 * i as f64 / 499.0).collect();
    assert_eq!(db_axis_range(&v, 20.0), (-90.0, 0.0));
    // isolated outliers (< 0.5 %) and non-finite values do not stretch the axis
    let mut v = vec![-3.0; 1000];
    v.extend([-200.0, 150.0, f64::NAN, f64::NEG_INFINITY, f64::INFINITY]);
    let (lo, hi) = db_axis_range(&v, 20.0);
    assert!(lo >= -20.0 && hi <= 15.0, "{lo} {hi}");
    // nothing usable: a sane default instead of a panic
    let (lo, hi) = db_axis_range(&[f64::NAN], 20.0);
    assert!(hi - lo >= 20.0);
    for (lo, hi) in [
        db_axis_range(&[1e300, -1e300], 20.0),
        db_axis_range(&[], 20.0),
    ] {
        assert!(lo.is_finite() && hi.is_finite() && hi > lo);
        assert_eq!(lo % 5.0, 0.0);
        assert_eq!(hi % 5.0, 0.0);
    }
}

#[test]
fn summary_figures_of_a_known_highpass() {
    let a = highpass_analysis();
    let m = crate::metrics::channel_metrics(&a.channels[0]);
    let (thd, m) = (m.clone(), m.response);
    // reference: 250 Hz–4 kHz of a 100 Hz Butterworth high-pass is within 0.05 dB of 0 dB
    let r = m.reference_db.unwrap();
    assert!(r < 0.0 && r > -0.05, "{r}");
    // bass: the log-frequency mean of the analytic curve over 20–250 Hz
    let hp = |f: f64| {
        let (re, im) = example::highpass2(f, 100.0, std::f64::consts::FRAC_1_SQRT_2);
        10.0 * (re * re + im * im).log10()
    };
    let n = 20000;
    let (u0, u1) = (20f64.log2(), 250f64.log2());
    let mean: f64 = (0..n)
        .map(|i| hp(2f64.powf(u0 + (u1 - u0) * (i as f64 + 0.5) / n as f64)))
        .sum::<f64>()
        / n as f64;
    let bass = m.bass_db.unwrap();
    assert!((bass - (mean - r)).abs() < 0.02, "{bass} vs {}", mean - r);
    assert!(m.treble_db.unwrap().abs() < 0.01);
    // −3 dB at the corner (100 Hz), −6 dB where |H|² = 10^-0.6 (76.1 Hz); read on the
    // 1/3-octave smoothed curve, so a few per cent lower
    let (lo3, edge) = m.low_3db_hz.unwrap();
    assert!(!edge && (90.0..=101.0).contains(&lo3), "{lo3}");
    let (lo6, _) = m.low_6db_hz.unwrap();
    assert!((70.0..=77.0).contains(&lo6), "{lo6}");
    // flat to the end of the sweep: the high extension is the band edge
    let (hi3, edge) = m.high_3db_hz.unwrap();
    assert!(edge && hi3 == 20000.0);
    // THD = 100/f %: 1 % at 100 Hz, 0.1 % at 1 kHz; not measured at 10 kHz
    assert!((thd.thd_100_percent.unwrap() - 1.0).abs() < 1e-3);
    assert!((thd.thd_1k_percent.unwrap() - 0.1).abs() < 1e-4);
    assert_eq!(thd.thd_10k_percent, None);

    let md = summary_markdown(&a);
    assert!(md.contains("| | ch0 |\n|---|---:|\n"), "{md}");
    assert!(
        md.contains("| Latency | 12.37 ms (593.8 samples) |"),
        "{md}"
    );
    assert!(md.contains("| Level at 1 kHz | -14.0 dBFS |"), "{md}");
    assert!(md.contains("| THD at 100 Hz | 1.0 % |"), "{md}");
    assert!(md.contains("| THD at 1 kHz | 0.10 % |"), "{md}");
    assert!(md.contains("| THD at 10 kHz | n/a |"), "{md}");
    assert!(md.contains("≥ 20.0 kHz (band edge)"), "{md}");
    assert!(md.contains("| Noise (20 Hz–20 kHz) | -75.0 dBFS |"), "{md}");
    assert!(md.contains("| Noise, A-weighted | -77.3 dBFS(A) |"), "{md}");
    assert!(md.contains("| SNR | 61.0 dB |"), "{md}");
    assert!(md.contains("| Warnings | none |"), "{md}");
    for f in &FILES[..7] {
        assert!(md.contains(&format!("({f})")), "{f} not linked");
    }
}

#[test]
fn summary_never_invents_numbers() {
    let mut a = example::analysis(1);
    let ch = &mut a.channels[0];
    ch.noise = None;
    ch.snr_db = None;
    ch.level_1k_dbfs = None;
    ch.peak_dbfs = None;
    ch.latency_s = None;
    ch.thd.freq_hz.clear();
    ch.thd.percent.clear();
    // a response that covers only 1–3 kHz: not the whole 250 Hz–4 kHz reference band, so
    // no mid level and nothing relative to it
    ch.frequency_response.freq_hz = vec![1000.0, 2000.0, 3000.0];
    ch.frequency_response.gain_db = vec![0.0, 0.0, 0.0];
    ch.warnings = vec!["no signal | check the cable".into()];
    let md = summary_markdown(&a);
    for row in [
        "| Latency | n/a |",
        "| Level at 1 kHz | n/a |",
        "| Bass (20–250 Hz) re mid | n/a |",
        "| THD at 1 kHz | n/a |",
        "| SNR | n/a |",
        "| −3 dB low / high | n/a / n/a |",
        "| Mid level (250 Hz–4 kHz mean gain) | n/a |",
    ] {
        assert!(md.contains(row), "missing {row:?} in\n{md}");
    }
    assert!(md.contains("- ch0: no signal \\| check the cable"), "{md}");
}

/// Unwrapping a wrapped pure delay gives back the straight line −360·f·τ (anchored at the
/// point nearest 1 kHz, where the wrapped value is kept), to rounding (1e-9°); a gap of more
/// than 1/6 octave starts afresh.
#[test]
fn phase_unwraps_to_the_delay_line() {
    let f = example::log_grid(20.0, 20000.0, 48.0);
    let tau = 0.37e-3;
    let line: Vec<f64> = f.iter().map(|f| -360.0 * f * tau).collect();
    let wrap = |d: f64| d - 360.0 * ((d + 180.0) / 360.0).floor();
    let wrapped: Vec<f64> = line.iter().map(|&d| wrap(d)).collect();
    let u = super::series::unwrap_deg(&f, &wrapped);
    let k = f
        .iter()
        .enumerate()
        .min_by(|a, b| {
            (a.1 / 1000.0)
                .ln()
                .abs()
                .total_cmp(&(b.1 / 1000.0).ln().abs())
        })
        .unwrap()
        .0;
    let shift = line[k] - wrapped[k];
    for i in 0..f.len() {
        assert!(
            (u[i] - (line[i] - shift)).abs() < 1e-9,
            "{} Hz: {} vs {}",
            f[i],
            u[i],
            line[i] - shift
        );
    }
    assert!(
        u.iter().zip(&wrapped).any(|(a, b)| (a - b).abs() > 300.0),
        "it did unwrap"
    );
}

/// A response with no points at 45–55 Hz (left out below the noise): its raw, smoothed,
/// phase and group-delay lines all break there (a NaN inside the hole, no segment with an
/// end on each side of it); the whole response draws unbroken lines.
#[test]
fn response_lines_break_at_holes_only() {
    let crosses = |s: &Series| -> bool {
        s.x.windows(2)
            .zip(s.y.windows(2))
            .any(|(x, y)| x[0] < 45.0 && x[1] > 55.0 && y[0].is_finite() && y[1].is_finite())
    };
    let opts = RenderOptions::default();
    let whole = example::analysis(1);
    let series: Vec<Series> = response_series(&whole, &opts)
        .into_iter()
        .chain(phase_series(&whole))
        .chain(group_delay_series(&whole))
        .collect();
    assert!(series.len() >= 3);
    for s in &series {
        assert!(s.y.iter().all(|v| v.is_finite()), "{}", s.name);
    }
    let mut holed = example::analysis(1);
    let cut = example::cut_response(&mut holed.channels[0].frequency_response, 45.0, 55.0);
    assert!(cut >= 3, "the example's grid is too coarse");
    let series: Vec<Series> = response_series(&holed, &opts)
        .into_iter()
        .chain(phase_series(&holed))
        .chain(group_delay_series(&holed))
        .collect();
    assert!(series.len() >= 3);
    for s in &series {
        let nans: Vec<f64> =
            s.x.iter()
                .zip(&s.y)
                .filter(|(_, y)| y.is_nan())
                .map(|(x, _)| *x)
                .collect();
        assert_eq!(nans.len(), 1, "{}: {nans:?}", s.name);
        assert!(nans[0] > 44.0 && nans[0] < 56.0, "{}: {nans:?}", s.name);
        assert!(!crosses(s), "{}", s.name);
    }
}

/// A capture that lost the sweep below 80 Hz (it started late): the bass mean is n/a and
/// says the capture does not hold that part of the sweep (not "below the noise"); with no
/// swept band recorded (an analysis from before the field, or a capture holding all of
/// the sweep) the bass is given over the part measured; a negative latency is named an
/// offset between the files.
#[test]
fn a_late_capture_says_why_its_bass_is_not_given() {
    let row = |md: &str, name: &str| -> String {
        md.lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row {name}:\n{md}"))
            .to_string()
    };
    let mut a = example::analysis(1);
    let ch = &mut a.channels[0];
    let lost = example::cut_response(&mut ch.frequency_response, 0.0, 80.0);
    assert!(lost > 10);
    ch.measured_band_hz = Some([80.0, 20000.0]);
    let whole = summary_markdown(&a);
    assert!(
        !row(&whole, "Bass (20–250 Hz) re mid").contains("n/a"),
        "{whole}"
    );
    a.channels[0].swept_band_hz = Some([20.0, 20000.0]);
    a.channels[0].latency_s = Some(-0.5);
    a.channels[0].latency_samples = Some(-24000.0);
    let md = summary_markdown(&a);
    assert_eq!(
        row(&md, "Bass (20–250 Hz) re mid"),
        "| Bass (20–250 Hz) re mid | n/a (the capture does not hold that part of the sweep) |"
    );
    assert!(
        !row(&md, "Treble (4–20 kHz) re mid").contains("n/a"),
        "{md}"
    );
    assert_eq!(
        row(&md, "Latency"),
        "| Latency | -500.00 ms (-24000.0 samples) (the capture starts after the stimulus: an offset between the files, not the device's delay) |"
    );
    assert!(!row(&whole, "Latency").contains("offset"), "{whole}");
}

/// The THD noise floor is drawn broken where it has no points (beside a dropout the THD
/// has none over an octave and more), and whole where it has them all.
#[test]
fn the_thd_noise_floor_breaks_at_its_holes() {
    let mut a = highpass_analysis();
    let grid = example::log_grid(20.0, 10000.0, 96.0);
    let floor: Vec<f64> = grid.iter().map(|f| 100.0 / f).collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = grid
        .iter()
        .zip(&floor)
        .filter(|(f, _)| !(**f > 300.0 && **f < 2000.0))
        .map(|(f, p)| (*f, *p))
        .unzip();
    let floor_of = |s: &[Series]| {
        s.iter()
            .find(|s| s.name == "ch0 noise floor")
            .expect("a floor series")
            .clone()
    };
    a.channels[0].thd.noise_floor = Some(crate::results::ThdFloor {
        freq_hz: grid.clone(),
        percent: floor.clone(),
    });
    let whole = floor_of(&distortion_series(&a));
    assert!(whole.y.iter().all(|v| v.is_finite()));
    assert_eq!(whole.x, grid);
    a.channels[0].thd.noise_floor = Some(crate::results::ThdFloor {
        freq_hz: xs.clone(),
        percent: ys,
    });
    let holed = floor_of(&distortion_series(&a));
    let gaps: Vec<f64> = holed
        .x
        .iter()
        .zip(&holed.y)
        .filter(|(_, y)| y.is_nan())
        .map(|(x, _)| *x)
        .collect();
    assert!(
        gaps.len() == 1 && gaps[0] > 300.0 && gaps[0] < 2000.0,
        "{gaps:?}"
    );
    assert_eq!(holed.x.len(), xs.len() + 1);
}
