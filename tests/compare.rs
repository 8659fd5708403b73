//! `compare`: metrics against values computed here from the analytic curves (numerical
//! quadrature of the exact |H|², not the library's code), claim verdicts, published curves,
//! calibration, targets, session sources, bad inputs and the files written.

use std::path::{Path, PathBuf};

use sweeplab::compare::{
    CompareArgs, CompareResult, DeviceResult, Verdict, read_calibration, read_curve,
};
use sweeplab::error::Error;
use sweeplab::kind::DeviceKind;

/// `sweeplab compare` as the CLI runs it (session sources analysed by the session layer).
fn run_compare(a: &CompareArgs) -> sweeplab::Result<CompareResult> {
    sweeplab::session::compare(a, None, &mut |_, _| {})
}
use sweeplab::metrics::Normalize;
use sweeplab::results::{
    ANALYSIS_FORMAT, ANALYSIS_VERSION, Analysis, Noise, NoiseSpectrum, Source, SweepInfo, Thd,
};
use sweeplab::storage::session_file::{write_analysis, write_response_csv};

// ---------------------------------------------------------------------------------------
// Analytic devices

/// A device: 2nd-order Butterworth high-pass × 2nd-order Butterworth low-pass × an optional
/// first-order high shelf, times a gain; THD `thd·(1 + (100/f)²)` %; fixed noise and SNR.
#[derive(Clone)]
struct Spec {
    label: &'static str,
    kind: &'static str,
    hp: f64,
    lp: f64,
    /// (corner Hz, high-frequency gain dB)
    shelf: Option<(f64, f64)>,
    gain_db: f64,
    thd: f64,
    noise: f64,
    snr: f64,
}

/// |H(f)|².
fn power(s: &Spec, f: f64) -> f64 {
    let w = f / s.hp;
    let hp = w.powi(4) / (1.0 + w.powi(4));
    let lp = 1.0 / (1.0 + (f / s.lp).powi(4));
    let sh = match s.shelf {
        Some((f0, g)) => {
            let gl = 10f64.powf(g / 20.0);
            let w = f / f0;
            (1.0 + gl * gl * w * w) / (1.0 + w * w)
        }
        None => 1.0,
    };
    10f64.powf(s.gain_db / 10.0) * hp * lp * sh
}

fn db(s: &Spec, f: f64) -> f64 {
    10.0 * power(s, f).log10()
}

fn thd_at(s: &Spec, f: f64) -> f64 {
    s.thd * (1.0 + (100.0 / f).powi(2))
}

/// 48 points per octave from 20 Hz to 20 kHz, as the analysis uses.
fn grid(lo: f64, hi: f64, ppo: f64) -> Vec<f64> {
    let n = ((hi / lo).log2() * ppo).ceil() as usize;
    (0..=n)
        .map(|i| (lo * 2f64.powf(i as f64 / ppo)).min(hi))
        .collect()
}

fn headphones() -> Spec {
    Spec {
        label: "Studio HP",
        kind: "headphones",
        hp: 40.0,
        lp: 25000.0,
        shelf: Some((6000.0, -2.0)),
        gain_db: -20.0,
        thd: 0.05,
        noise: -95.0,
        snr: 80.0,
    }
}
fn headset() -> Spec {
    Spec {
        label: "Gaming HS",
        kind: "headset",
        hp: 120.0,
        lp: 9000.0,
        shelf: None,
        gain_db: -14.0,
        thd: 0.4,
        noise: -80.0,
        snr: 60.0,
    }
}
fn headset_mic() -> Spec {
    Spec {
        label: "HS boom mic",
        kind: "headset-mic",
        hp: 150.0,
        lp: 7000.0,
        shelf: None,
        gain_db: -30.0,
        thd: 1.0,
        noise: -70.0,
        snr: 55.0,
    }
}
fn usb_mic() -> Spec {
    Spec {
        label: "USB mic",
        kind: "microphone",
        hp: 40.0,
        lp: 18000.0,
        shelf: None,
        gain_db: -25.0,
        thd: 0.1,
        noise: -88.0,
        snr: 75.0,
    }
}
/// The published headphone curve (CSV source: no THD, no noise).
fn published() -> Spec {
    Spec {
        label: "Published HP",
        kind: "headphones",
        hp: 30.0,
        lp: 14000.0,
        shelf: None,
        gain_db: 95.0,
        thd: 0.0,
        noise: 0.0,
        snr: 0.0,
    }
}

fn write_device(root: &Path, s: &Spec) -> PathBuf {
    let dir = root.join(s.label.replace(' ', "_"));
    std::fs::create_dir_all(&dir).unwrap();
    let f = grid(20.0, 20000.0, 48.0);
    let g: Vec<f64> = f.iter().map(|&x| db(s, x)).collect();
    let mut ch = sweeplab::testkit::example::curve_channel(f.clone(), g);
    let tf = grid(20.0, 10000.0, 48.0);
    ch.thd = Thd {
        percent: tf.iter().map(|&x| thd_at(s, x)).collect(),
        freq_hz: tf,
        harmonics: Vec::new(),
        noise_floor: None,
    };
    ch.noise = Some(Noise {
        rms_dbfs: s.noise,
        a_weighted_dbfs: s.noise - 2.0,
        spectrum: NoiseSpectrum {
            freq_hz: vec![0.0, 24000.0],
            dbfs_per_hz: vec![-130.0, -130.0],
        },
        duration_s: 1.0,
    });
    ch.snr_db = Some(s.snr);
    ch.latency_s = Some(0.01);
    ch.latency_samples = Some(480.0);
    let a = Analysis {
        format: ANALYSIS_FORMAT.into(),
        version: ANALYSIS_VERSION,
        sample_rate: 48000,
        label: Some(s.label.into()),
        kind: Some(s.kind.parse().unwrap()),
        created: None,
        sweep: SweepInfo {
            start_hz: 20.0,
            end_hz: 20000.0,
            duration_s: 5.0,
            level_dbfs: -12.0,
            pre_s: 1.0,
            post_s: 1.0,
        },
        source: Source::default(),
        calibration: None,
        provenance: Some(sweeplab::kind::Provenance::Measured),
        spl: None,
        repeats: None,
        mic_under_test: None,
        distortion_vs_level: None,
        sides: None,
        channels: vec![ch],
        written: Vec::new(),
    };
    write_analysis(&dir, &a).unwrap();
    dir
}

/// An AutoEq CSV of a spec on a 1/24-octave grid (coarser than the analyses).
fn write_csv(root: &Path, name: &str, s: &Spec) -> PathBuf {
    let p = root.join(name);
    let mut t = String::from("frequency,raw,error,smoothed\n");
    for f in grid(20.0, 20000.0, 24.0) {
        t.push_str(&format!("{f:.4},{:.5},,\n", db(s, f)));
    }
    std::fs::write(&p, t).unwrap();
    p
}

// ---------------------------------------------------------------------------------------
// Expected values, by quadrature of the analytic curves

fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let n = n + n % 2;
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Mean of the dB curve over [lo, hi], each octave weighted equally.
fn band_mean(s: &Spec, lo: f64, hi: f64) -> f64 {
    let (a, b) = (lo.log2(), hi.log2());
    simpson(|l| db(s, 2f64.powf(l)), a, b, 4000) / (b - a)
}

/// Power average over ±1/6 octave (the part inside the 20 Hz–20 kHz band), dB.
fn third_octave(s: &Spec, f: f64) -> f64 {
    let h = 2f64.powf(1.0 / 6.0);
    let (a, b) = ((f / h).max(20.0), (f * h).min(20000.0));
    10.0 * (simpson(|x| power(s, x), a, b, 400) / (b - a)).log10()
}

/// (frequency, at band edge) of the lowest (`low`) or highest point within 6 dB of the
/// reference: scanned from the band edge inwards in 1/200-octave steps, then bisected.
fn extension(s: &Spec, low: bool) -> (f64, bool) {
    let thr = band_mean(s, 250.0, 4000.0) - 6.0;
    let edge = if low { 20.0 } else { 20000.0 };
    if third_octave(s, edge) >= thr {
        return (edge, true);
    }
    let step = 2f64.powf(if low { 1.0 / 200.0 } else { -1.0 / 200.0 });
    let mut prev = edge;
    let mut f = edge * step;
    while third_octave(s, f) < thr {
        prev = f;
        f *= step;
    }
    let (mut out, mut inn) = (prev, f);
    for _ in 0..50 {
        let m = (out * inn).sqrt();
        if third_octave(s, m) >= thr {
            inn = m
        } else {
            out = m
        }
    }
    (inn, false)
}

struct Expected {
    reference: f64,
    bass: f64,
    treble: f64,
    low: (f64, bool),
    high: (f64, bool),
}

fn expected(s: &Spec) -> Expected {
    let r = band_mean(s, 250.0, 4000.0);
    Expected {
        reference: r,
        bass: band_mean(s, 20.0, 250.0) - r,
        treble: band_mean(s, 4000.0, 20000.0) - r,
        low: extension(s, true),
        high: extension(s, false),
    }
}

fn device<'a>(r: &'a CompareResult, label: &str) -> &'a DeviceResult {
    r.devices
        .iter()
        .find(|d| d.label == label)
        .unwrap_or_else(|| panic!("no device {label}"))
}

fn verdict(r: &CompareResult, id: &str) -> Verdict {
    r.claims
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no claim {id}"))
        .verdict
}

/// The five measured devices: four analyses and one published CSV.
fn fixture(root: &Path) -> Vec<PathBuf> {
    vec![
        write_device(root, &headphones()),
        write_device(root, &headset()),
        write_device(root, &headset_mic()),
        write_device(root, &usb_mic()),
        write_csv(root, "published_hp.csv", &published()),
    ]
}

fn args(sources: Vec<PathBuf>, out: PathBuf) -> CompareArgs {
    let mut a = CompareArgs::new(sources, out);
    // the CSV has no kind of its own
    a.kinds = vec![None, None, None, None, Some(DeviceKind::Headphones)];
    a.labels = vec![
        "".into(),
        "".into(),
        "".into(),
        "".into(),
        "Published HP".into(),
    ];
    a
}

// ---------------------------------------------------------------------------------------

#[test]
fn metrics_match_the_analytic_curves() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run_compare(&args(fixture(tmp.path()), tmp.path().join("out"))).unwrap();
    let (mut worst_db, mut worst_oct) = (0.0f64, 0.0f64);
    for s in [
        headphones(),
        headset(),
        headset_mic(),
        usb_mic(),
        published(),
    ] {
        let d = device(&r, s.label);
        let e = expected(&s);
        let m = &d.metrics;
        for (name, got, want) in [
            ("reference_db", m.reference_db, e.reference),
            ("bass_db", m.bass_db, e.bass),
            ("treble_db", m.treble_db, e.treble),
        ] {
            let err = (got.unwrap() - want).abs();
            worst_db = worst_db.max(err);
            assert!(err < 0.01, "{} {name}: {got:?} vs {want}", s.label);
        }
        for (name, got, edge, want) in [
            (
                "low_extension_hz",
                m.low_extension_hz,
                d.low_extension_at_band_edge,
                e.low,
            ),
            (
                "high_extension_hz",
                m.high_extension_hz,
                d.high_extension_at_band_edge,
                e.high,
            ),
        ] {
            assert_eq!(edge, want.1, "{} {name} band edge", s.label);
            let err = (got.unwrap() / want.0).log2().abs();
            worst_oct = worst_oct.max(err);
            assert!(
                err < 1.0 / 48.0,
                "{} {name}: {got:?} vs {}",
                s.label,
                want.0
            );
        }
        if s.label == "Published HP" {
            assert_eq!(d.source_type, "curve");
            assert_eq!(
                (m.thd_1k_percent, m.noise_rms_dbfs, m.snr_db),
                (None, None, None)
            );
        } else {
            assert_eq!(d.source_type, "analysis");
            let t = m.thd_1k_percent.unwrap();
            // THD ratio within 0.1 dB
            assert!(
                (20.0 * (t / thd_at(&s, 1000.0)).log10()).abs() < 0.1,
                "{} thd {t}",
                s.label
            );
            assert_eq!(m.noise_rms_dbfs, Some(s.noise));
            assert_eq!(m.snr_db, Some(s.snr));
        }
    }
    println!("worst level error {worst_db:.4} dB, worst extension error {worst_oct:.5} octave");
    // the published curve has no kind of its own: it got the --kind and --label given
    let p = device(&r, "Published HP");
    assert_eq!(p.kind, Some(DeviceKind::Headphones));
    // 1k normalisation: the 1/3-octave level at 1 kHz
    let hp = device(&r, "Studio HP");
    let off = hp.normalization_offset_db.unwrap();
    assert!(
        (off - third_octave(&headphones(), 1000.0)).abs() < 0.02,
        "{off}"
    );
}

#[test]
fn default_claims_verdicts_and_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = run_compare(&args(fixture(tmp.path()), out.clone())).unwrap();
    let want = [
        ("headset-mids-over-bass", Verdict::Supported),
        ("headphones-better-low-end", Verdict::Supported),
        ("headphones-sound-better", Verdict::Inconclusive),
        ("headphones-highest-range", Verdict::Supported),
        ("headset-mic-worse-snr", Verdict::Supported),
        ("headset-mic-worse-bandwidth", Verdict::Supported),
        ("anc-filters-background-noise", Verdict::Inconclusive),
        ("headphones-lower-distortion", Verdict::Supported),
        ("headset-mic-speech-band", Verdict::Supported),
        ("headsets-more-comfortable", Verdict::Inconclusive),
    ];
    for (id, v) in want {
        let c = r.claims.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, v, "{id}: {}", c.evidence);
    }
    for id in [
        "headphones-sound-better",
        "anc-filters-background-noise",
        "headsets-more-comfortable",
    ] {
        let c = r.claims.iter().find(|c| c.id == id).unwrap();
        assert!(
            !c.decidable && c.evidence.starts_with("not measurable"),
            "{id}"
        );
    }
    // the published curve has no THD: left out of the distortion claim, named
    let thd = r
        .claims
        .iter()
        .find(|c| c.id == "headphones-lower-distortion")
        .unwrap();
    assert!(
        thd.evidence.contains("Published HP has no thd_1k_percent"),
        "{}",
        thd.evidence
    );
    // the high-extension claim rests on a band-edge bound for Studio HP
    let hi = r
        .claims
        .iter()
        .find(|c| c.id == "headphones-highest-range")
        .unwrap();
    assert!(
        hi.evidence.contains("≥ 20 kHz (band end)"),
        "{}",
        hi.evidence
    );

    // files
    for f in [
        "compare.json",
        "claims.md",
        "compare-response.png",
        "compare-deviation.png",
        "compare-metrics.png",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    for f in [
        "compare-response.png",
        "compare-deviation.png",
        "compare-metrics.png",
    ] {
        let dec = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(out.join(f)).unwrap(),
        ));
        let reader = dec.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (1600, 1000), "{f}");
    }
    // compare.json: CONTRACT fields, nulls where unmeasurable
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert_eq!(j["format"], "sweeplab-compare");
    assert_eq!(j["version"], 1);
    let devs = j["devices"].as_array().unwrap();
    assert_eq!(devs.len(), 5);
    for d in devs {
        for k in ["label", "kind", "source", "metrics"] {
            assert!(d.get(k).is_some(), "{k}");
        }
        for k in [
            "reference_db",
            "bass_db",
            "treble_db",
            "low_extension_hz",
            "high_extension_hz",
            "noise_rms_dbfs",
            "snr_db",
            "thd_1k_percent",
        ] {
            assert!(d["metrics"].get(k).is_some(), "metrics.{k}");
        }
    }
    assert!(devs[4]["metrics"]["thd_1k_percent"].is_null());
    for c in j["claims"].as_array().unwrap() {
        assert!(c["id"].is_string() && c["statement"].is_string() && c["evidence"].is_string());
        assert!(
            ["supported", "contradicted", "inconclusive"].contains(&c["verdict"].as_str().unwrap())
        );
    }
    let md = std::fs::read_to_string(out.join("claims.md")).unwrap();
    assert!(md.contains("| Claim |") && md.contains("Studio HP") && md.contains("A − B"));
    assert_eq!(
        md.matches("\n| **").count(),
        r.claims.len(),
        "one row per claim"
    );
}

const HEAD: &str = "format = \"sweeplab-claims\"\nversion = 1\n";

#[test]
fn contradicted_below_threshold_missing_and_mixed() {
    let tmp = tempfile::tempdir().unwrap();
    let claims = tmp.path().join("claims.toml");
    std::fs::write(
        &claims,
        format!(
            "{HEAD}
[[claim]]
id = \"hs-more-bass\"
statement = \"Headsets have more bass than headphones.\"
a_kind = \"headset\"
b_kind = \"headphones\"
metric = \"bass_db\"
direction = \"a_greater\"
min_difference = 1.0

[[claim]]
id = \"tiny-treble-threshold-missed\"
statement = \"Headphones have far more treble than headsets.\"
a_kind = \"headphones\"
b_kind = \"headset\"
metric = \"treble_db\"
direction = \"a_greater\"
min_difference = 40.0

[[claim]]
id = \"loopback-missing\"
statement = \"A loopback is flatter than headphones.\"
a_kind = \"loopback\"
b_kind = \"headphones\"
metric = \"treble_db\"
direction = \"a_greater\"

[[claim]]
id = \"hs-less-bass\"
statement = \"Headsets have less bass than headphones.\"
a_kind = \"headset\"
b_kind = \"headphones\"
metric = \"bass_db\"
direction = \"a_less\"
min_difference = 3.0

[[claim]]
id = \"thd-of-curves\"
statement = \"Published curves have low distortion.\"
a_kind = \"other\"
metric = \"thd_1k_percent\"
direction = \"a_less\"
value = 1.0
"
        ),
    )
    .unwrap();
    // a second headset with deep bass: the pairs disagree on hs-less-bass
    let mut boomy = headset();
    boomy.label = "Boomy HS";
    boomy.hp = 15.0;
    boomy.shelf = Some((300.0, -8.0)); // 8 dB more below 300 Hz than above
    let sources = vec![
        write_device(tmp.path(), &headphones()),
        write_device(tmp.path(), &headset()),
        write_device(tmp.path(), &boomy),
        write_csv(tmp.path(), "curve.csv", &published()),
    ];
    let mut a = CompareArgs::new(sources, tmp.path().join("out"));
    a.kinds = vec![None, None, None, Some(DeviceKind::Other)];
    a.claims = Some(claims);
    let r = run_compare(&a).unwrap();
    assert_eq!(
        r.claims_file,
        a.claims.as_ref().unwrap().display().to_string()
    );
    // bass: Gaming HS far below Studio HP, Boomy HS above it
    let e_hp = expected(&headphones());
    let e_boomy = expected(&boomy);
    assert!(
        e_boomy.bass - e_hp.bass > 3.0,
        "{} {}",
        e_boomy.bass,
        e_hp.bass
    );
    assert!(expected(&headset()).bass - e_hp.bass < -3.0);

    let c = |id: &str| r.claims.iter().find(|c| c.id == id).unwrap();
    // mixed pairs: Gaming HS < Studio HP but Boomy HS > Studio HP
    assert_eq!(verdict(&r, "hs-more-bass"), Verdict::Inconclusive);
    assert!(
        c("hs-more-bass").evidence.contains("pairs disagree"),
        "{}",
        c("hs-more-bass").evidence
    );
    assert_eq!(verdict(&r, "hs-less-bass"), Verdict::Inconclusive);
    // below the threshold
    assert_eq!(
        verdict(&r, "tiny-treble-threshold-missed"),
        Verdict::Inconclusive
    );
    assert!(
        c("tiny-treble-threshold-missed")
            .evidence
            .contains("smaller than the 40 dB threshold")
    );
    // no device of a kind
    assert_eq!(verdict(&r, "loopback-missing"), Verdict::Inconclusive);
    assert!(
        c("loopback-missing")
            .evidence
            .contains("no device of kind \"loopback\"")
    );
    // metric missing everywhere
    assert_eq!(verdict(&r, "thd-of-curves"), Verdict::Inconclusive);
    assert!(
        c("thd-of-curves")
            .evidence
            .contains("no pair of devices has this metric")
    );

    // without Boomy HS both bass claims are decided, one each way
    let mut a2 = a.clone();
    a2.sources.remove(2);
    a2.kinds.remove(2);
    a2.out = tmp.path().join("out2");
    let r2 = run_compare(&a2).unwrap();
    assert_eq!(verdict(&r2, "hs-more-bass"), Verdict::Contradicted);
    assert_eq!(verdict(&r2, "hs-less-bass"), Verdict::Supported);
    let p = &r2
        .claims
        .iter()
        .find(|c| c.id == "hs-less-bass")
        .unwrap()
        .conditions[0]
        .pairs[0];
    let want = expected(&headset()).bass - e_hp.bass;
    assert!(
        (p.difference.unwrap() - want).abs() < 0.05,
        "{:?} vs {want}",
        p.difference
    );
}

#[test]
fn target_deviation_normalisation_and_calibration() {
    let tmp = tempfile::tempdir().unwrap();
    // the target is the headphones' own curve, 7 dB louder: after normalising both at 1 kHz
    // the headphones deviate by ~0 and the headset by the RMS of their normalised difference
    let mut tgt = headphones();
    tgt.gain_db += 7.0;
    let target = write_csv(tmp.path(), "target.csv", &tgt);
    let sources = vec![
        write_device(tmp.path(), &headphones()),
        write_device(tmp.path(), &headset()),
        write_device(tmp.path(), &usb_mic()),
    ];
    let mut a = CompareArgs::new(sources.clone(), tmp.path().join("out"));
    a.target = Some(target.clone());
    let r = run_compare(&a).unwrap();
    let hp = device(&r, "Studio HP");
    assert!(
        hp.rms_deviation_db.unwrap() < 0.02,
        "{:?}",
        hp.rms_deviation_db
    );
    assert_eq!(hp.rms_deviation_band_hz, Some([20.0, 10000.0]));
    let (hs, hps) = (headset(), headphones());
    let (o_hs, o_hp) = (third_octave(&hs, 1000.0), third_octave(&hps, 1000.0));
    let (la, lb) = (20f64.log2(), 10000f64.log2());
    let ms = simpson(
        |l| {
            let f = 2f64.powf(l);
            ((db(&hs, f) - o_hs) - (db(&hps, f) - o_hp)).powi(2)
        },
        la,
        lb,
        4000,
    ) / (lb - la);
    let got = device(&r, "Gaming HS").rms_deviation_db.unwrap();
    assert!((got - ms.sqrt()).abs() < 0.05, "{got} vs {}", ms.sqrt());
    assert!(r.target.as_ref().unwrap().file.ends_with("target.csv"));
    assert!(tmp.path().join("out/compare-deviation.png").is_file());

    // --normalize mean: the offset is the reference level
    let mut m = a.clone();
    m.normalize = Normalize::Mean;
    m.out = tmp.path().join("out-mean");
    let r = run_compare(&m).unwrap();
    let hp = device(&r, "Studio HP");
    assert_eq!(hp.normalization_offset_db, hp.metrics.reference_db);
    assert!(device(&r, "Studio HP").rms_deviation_db.unwrap() < 0.02);

    // calibration: a mic reading 2 dB high above 8 kHz (a ramp over 4–8 kHz) lowers the
    // treble by the mean of the calibration over 4–20 kHz: (1·1 + 2·log2(20/8))/log2(5)
    let cal = tmp.path().join("cal.txt");
    std::fs::write(
        &cal,
        "\"Sens Factor =-1.25dB, SERNO: 7001234\"\n10 0\n4000 0\n8000 2.0\n20000 2.0\n",
    )
    .unwrap();
    let mut c = CompareArgs::new(sources, tmp.path().join("out-cal"));
    c.calibration = Some(cal);
    let r = run_compare(&c).unwrap();
    let shift = (1.0 + 2.0 * (20.0f64 / 8.0).log2()) / 5f64.log2();
    let hp = device(&r, "Studio HP");
    assert!(hp.calibrated);
    let want = expected(&headphones()).treble - shift;
    assert!(
        (hp.metrics.treble_db.unwrap() - want).abs() < 0.05,
        "{:?} vs {want}",
        hp.metrics.treble_db
    );
    assert!((hp.metrics.reference_db.unwrap() - expected(&headphones()).reference).abs() < 0.05);
    // a microphone under test is not corrected by the measurement mic's calibration
    let mic = device(&r, "USB mic");
    assert!(
        !mic.calibrated
            && mic
                .warnings
                .iter()
                .any(|w| w.contains("--calibration not applied"))
    );
    let info = r.calibration.unwrap();
    assert_eq!((info.sens_factor_db, info.points), (Some(-1.25), 4));
}

#[test]
fn session_sources_are_analysed_into_out_sources() {
    use sweeplab::dsp::sweep::SweepSpec;
    let tmp = tempfile::tempdir().unwrap();
    let sess = tmp.path().join("hs-session");
    let spec = SweepSpec {
        sample_rate: 48000,
        start_hz: 20.0,
        end_hz: 20000.0,
        duration_s: 1.0,
        level_dbfs: -12.0,
        pre_s: 0.3,
        post_s: 0.3,
    };
    sweeplab::session::create_sweep_session(
        &sess,
        &spec,
        Some("Loop HS".into()),
        Some(DeviceKind::Headset),
        false,
    )
    .unwrap();
    let stim = sweeplab::storage::wav::read_wav(&sess.join("stimulus.wav")).unwrap();
    // the capture: the stimulus at half amplitude (−6.02 dB), 100 samples late, faint noise
    let mut seed = 1u64;
    let mut cap = vec![0f32; 100];
    cap.extend(stim.channels[0].iter().map(|&v| (0.5 * v) as f32));
    for v in cap.iter_mut() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *v += ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2e-5;
    }
    sweeplab::storage::wav::write_wav_f32(&sess.join("capture.wav"), 48000, 1, &cap).unwrap();
    let out = tmp.path().join("out");
    let a = CompareArgs::new(
        vec![sess.clone(), write_device(tmp.path(), &headphones())],
        out.clone(),
    );
    let r = run_compare(&a).unwrap();
    let d = device(&r, "Loop HS");
    assert_eq!(
        (d.source_type.as_str(), d.kind),
        ("session", Some(DeviceKind::Headset))
    );
    assert!(out.join("sources/hs-session/analysis.json").is_file());
    assert!(
        !out.join("sources/hs-session/response.png").exists(),
        "no plots for sources"
    );
    let m = &d.metrics;
    assert!((m.reference_db.unwrap() + 6.0206).abs() < 0.05, "{m:?}");
    assert!(
        m.bass_db.unwrap().abs() < 0.3 && m.treble_db.unwrap().abs() < 0.3,
        "{m:?}"
    );
    assert!(
        d.low_extension_at_band_edge && d.high_extension_at_band_edge,
        "{d:?}"
    );
    assert!(m.snr_db.is_some() && m.noise_rms_dbfs.is_some());
    // a linear capture: no harmonic stands above the noise, so no THD is reported
    assert_eq!(m.thd_1k_percent, None);
}

#[test]
fn response_csv_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let f = grid(20.0, 20000.0, 48.0);
    let g: Vec<f64> = f.iter().map(|&x| db(&headset(), x)).collect();
    let p = tmp.path().join("response.csv");
    write_response_csv(&p, &f, &g).unwrap();
    let (f2, g2) = read_curve(&p).unwrap();
    assert_eq!(f2.len(), f.len());
    let worst = g
        .iter()
        .zip(&g2)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 0.01, "{worst}");
    assert!(f.iter().zip(&f2).all(|(a, b)| (a - b).abs() <= 1e-6 * a));
}

fn bad_input(e: Error) -> (PathBuf, String) {
    assert_eq!(e.exit_code(), 2, "{e}");
    match e {
        Error::BadInput { path, msg } => (path, msg),
        other => panic!("expected BadInput, got {other:?}"),
    }
}

#[test]
fn bad_files_are_bad_input_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write_device(tmp.path(), &headphones());
    let run = |sources: Vec<PathBuf>, f: &dyn Fn(&mut CompareArgs)| {
        let mut a = CompareArgs::new(sources, tmp.path().join("out"));
        f(&mut a);
        run_compare(&a)
    };
    for (name, text, line) in [
        ("nan.csv", "frequency,raw\n20,1\n30,nan\n", "line 3"),
        ("dup.csv", "frequency,raw\n20,1\n20,1\n", "line 3"),
        ("down.txt", "* REW\n20 1\n40 1\n30 1\n", "line 4"),
        ("word.txt", "20 1\n40 loud\n", "line 2"),
        ("empty.csv", "frequency,raw\n", "at least two"),
        ("blank.txt", "", "at least two"),
        ("nohdr.csv", "frequency,left,right\n20,1,2\n", "line 1"),
    ] {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        let (path, msg) = bad_input(run(vec![good.clone(), p.clone()], &|_| {}).unwrap_err());
        assert_eq!(path, p, "{name}");
        assert!(msg.contains(line), "{name}: {msg}");
        // the target goes through the same parser
        let (path, _) =
            bad_input(run(vec![good.clone()], &|a| a.target = Some(p.clone())).unwrap_err());
        assert_eq!(path, p);
    }
    let bin = tmp.path().join("bin.csv");
    std::fs::write(&bin, [0xffu8, 0xfe, 0x00, 0x41]).unwrap();
    bad_input(run(vec![good.clone(), bin], &|_| {}).unwrap_err());

    for (text, line) in [
        (
            "[[claim]]\nid = \"a\"\nstatement = \"s\"\na_kind = \"headset\"\nb_kind = \"headphones\"\nmetric = \"warmth\"\ndirection = \"a_less\"\n",
            "line 2",
        ),
        (
            "[[claim]]\nid = \"a\"\nstatement = \"s\"\ndecidable = false\n[[claim]]\nid = \"b\"\nstatement = \"t\"\na_kind = \"headset\"\nb_kind = \"headphones\"\nmetric = \"bass_db\"\n",
            "line 6",
        ),
        (
            "[[claim]]\nid = \"a\"\nstatement = \"s\"\na_kind = 3\n",
            "line 4",
        ),
        (
            "[[claim]]\nid = \"a\"\nstatement = \"s\"\nsomething = 1\n",
            "line",
        ),
        ("[[claim\n", "line 1"),
    ] {
        let p = tmp.path().join("claims.toml");
        std::fs::write(&p, text).unwrap();
        let (path, msg) =
            bad_input(run(vec![good.clone()], &|a| a.claims = Some(p.clone())).unwrap_err());
        assert_eq!(path, p);
        assert!(msg.contains(line), "{text}: {msg}");
    }

    for (text, line) in [
        ("\"Sens Factor =x1dB\"\n20 0\n30 0\n", "line 1"),
        ("20 0\n30 NaN\n", "line 2"),
        ("20 0\n20 1\n", "line 2"),
        ("* only comments\n", "at least two"),
    ] {
        let p = tmp.path().join("cal.txt");
        std::fs::write(&p, text).unwrap();
        let e = read_calibration(&p).unwrap_err();
        let (path, msg) = bad_input(e);
        assert_eq!(path, p);
        assert!(msg.contains(line), "{text}: {msg}");
        let (path, _) =
            bad_input(run(vec![good.clone()], &|a| a.calibration = Some(p.clone())).unwrap_err());
        assert_eq!(path, p);
    }

    // a folder that is neither a session nor an analysis; a missing path; --out a file
    let empty = tmp.path().join("emptydir");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(
        bad_input(run(vec![empty.clone()], &|_| {}).unwrap_err()).0,
        empty
    );
    let missing = tmp.path().join("nope");
    assert_eq!(
        bad_input(run(vec![missing.clone()], &|_| {}).unwrap_err()).0,
        missing
    );
    let file_out = tmp.path().join("file");
    std::fs::write(&file_out, "x").unwrap();
    let (path, _) = bad_input(run(vec![good.clone()], &|a| a.out = file_out.clone()).unwrap_err());
    assert_eq!(path, file_out);
    // flags
    for f in [
        &(|a: &mut CompareArgs| a.labels = vec!["a".into(), "b".into()])
            as &dyn Fn(&mut CompareArgs),
        &|a| a.smoothing = Some(0.5),
    ] {
        let e = run(vec![good.clone()], f).unwrap_err();
        assert!(matches!(e, Error::BadUsage { .. }), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
}

/// Rewrites a device's analysis.json through `edit`.
fn edit_analysis(dir: &Path, edit: impl FnOnce(&mut Analysis)) {
    let mut a = sweeplab::storage::session_file::read_analysis(dir).unwrap();
    edit(&mut a);
    write_analysis(dir, &a).unwrap();
}

/// Verdicts say what they rest on: each device's provenance in compare.json and claims.md, a
/// device whose capture has a fault (clipping) or no signal left out of every pair and named,
/// a verdict resting on simulated devices marked, one device of a kind noted, published
/// curves beside own measurements warned about, SNR read at different levels warned about.
#[test]
fn verdicts_say_what_they_rest_on() {
    let tmp = tempfile::tempdir().unwrap();
    let hp = write_device(tmp.path(), &headphones());
    let hs = write_device(tmp.path(), &headset());
    let clipped = write_device(
        tmp.path(),
        &Spec {
            label: "Clipped HS",
            ..headset()
        },
    );
    edit_analysis(&clipped, |a| {
        a.channels[0].warnings =
            vec!["clipping: 30 samples at full scale in channel 0; lower the output level".into()];
    });
    let muted = write_device(
        tmp.path(),
        &Spec {
            label: "Muted HS",
            ..headset()
        },
    );
    edit_analysis(&muted, |a| {
        a.channels[0] = sweeplab::results::ChannelAnalysis::without_signal(
            0,
            Some(-240.0),
            vec!["no signal: the sweep was not found in channel 0".into()],
        );
    });
    let a = CompareArgs::new(
        vec![hp.clone(), hs.clone(), clipped.clone(), muted.clone()],
        tmp.path().join("out"),
    );
    let r = run_compare(&a).unwrap();
    let muted_dev = device(&r, "Muted HS");
    assert!(muted_dev.band_hz.is_none() && muted_dev.metrics.bass_db.is_none());
    assert_eq!(device(&r, "Clipped HS").faults.len(), 1);
    assert_eq!(r.kind_counts.get("headset"), Some(&3));
    let c = r
        .claims
        .iter()
        .find(|c| c.id == "headphones-better-low-end")
        .unwrap();
    for k in &c.conditions {
        assert!(
            k.left_out
                .iter()
                .any(|l| l.contains("Clipped HS is left out")),
            "{:?}",
            k.left_out
        );
        assert!(k.pairs.iter().filter(|p| !p.missing_value).all(|p| {
            p.a != "Clipped HS" && p.b != "Clipped HS" && p.a != "Muted HS" && p.b != "Muted HS"
        }));
    }
    assert_eq!(c.provenance, vec![sweeplab::kind::Provenance::Measured]);
    assert!(
        c.caveats
            .iter()
            .any(|w| w.contains("one device of each kind")),
        "{:?}",
        c.caveats
    );
    let md = std::fs::read_to_string(tmp.path().join("out/claims.md")).unwrap();
    assert!(md.contains("| measured |"), "{md}");
    assert!(
        md.contains("Devices per kind: headphones 1, headset 3."),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("out/compare.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["devices"][0]["provenance"], "measured");

    // simulated devices: the verdicts that rest on them are marked so
    for d in [&hp, &hs] {
        edit_analysis(d, |a| {
            a.provenance = Some(sweeplab::kind::Provenance::Simulated)
        });
    }
    let r = run_compare(&CompareArgs::new(
        vec![hp.clone(), hs.clone()],
        tmp.path().join("out-sim"),
    ))
    .unwrap();
    let decided: Vec<_> = r
        .claims
        .iter()
        .filter(|c| c.verdict != Verdict::Inconclusive)
        .collect();
    assert!(!decided.is_empty());
    for c in decided {
        assert_eq!(c.mark(), " (simulated devices)");
        assert!(
            c.caveats
                .iter()
                .any(|w| w.contains("not a fact about real products"))
        );
    }
    let md = std::fs::read_to_string(tmp.path().join("out-sim/claims.md")).unwrap();
    assert!(md.contains("(simulated devices)"), "{md}");

    // a published curve beside own measurements, and SNR at two levels
    edit_analysis(&hs, |a| a.sweep.level_dbfs = -20.0);
    let csv = write_csv(tmp.path(), "pub.csv", &headphones());
    let mut a = CompareArgs::new(vec![hp, hs, csv], tmp.path().join("out-mixed"));
    a.kinds = vec![None, None, Some(DeviceKind::Headphones)];
    let r = run_compare(&a).unwrap();
    assert_eq!(
        r.devices[2].provenance,
        sweeplab::kind::Provenance::Published
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("published curves")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("different sweep levels")),
        "{:?}",
        r.warnings
    );
    // and no such warnings when nothing is mixed
    let r = run_compare(&CompareArgs::new(
        fixture(tmp.path())[..2].to_vec(),
        tmp.path().join("out-plain"),
    ))
    .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// A published curve with no points at 40–60 Hz (16 % of 20–250 Hz) has no bass mean and a
/// warning naming the stretch; with no points at 45–50 Hz (4 %) the mean bridges it and is
/// the analytic one (quadrature of the curve) within 0.02 dB; the whole curve has no such
/// warning. Its reference and treble are the analytic ones in all three (0.02 dB).
#[test]
fn band_means_are_withheld_across_holes() {
    let tmp = tempfile::tempdir().unwrap();
    let s = published();
    let write = |name: &str, hole: (f64, f64)| -> PathBuf {
        let p = tmp.path().join(name);
        let mut t = String::from("frequency,raw\n");
        for f in grid(20.0, 20000.0, 24.0) {
            if !(f > hole.0 && f < hole.1) {
                t.push_str(&format!("{f:.4},{:.5}\n", db(&s, f)));
            }
        }
        std::fs::write(&p, t).unwrap();
        p
    };
    let sources = vec![
        write("whole.csv", (0.0, 0.0)),
        write("small_hole.csv", (45.0, 50.0)),
        write("wide_hole.csv", (40.0, 60.0)),
    ];
    let mut a = CompareArgs::new(sources, tmp.path().join("out"));
    a.kinds = vec![Some(DeviceKind::Headphones); 3];
    let r = run_compare(&a).unwrap();
    let e = expected(&s);
    for d in &r.devices {
        let m = &d.metrics;
        let withheld = d.warnings.iter().find(|w| w.starts_with("no bass_db: "));
        eprintln!("{}: {:?} {:?}", d.label, m.bass_db, withheld);
        assert!(
            (m.reference_db.unwrap() - e.reference).abs() < 0.02,
            "{}",
            d.label
        );
        assert!(
            (m.treble_db.unwrap() - e.treble).abs() < 0.02,
            "{}",
            d.label
        );
        if d.label == "wide_hole" {
            assert_eq!(m.bass_db, None);
            let w = withheld.expect("a warning says why");
            assert!(
                w.contains("no points at 40 Hz–61.7 Hz") && w.contains("17 %"),
                "{w}"
            );
        } else {
            assert!((m.bass_db.unwrap() - e.bass).abs() < 0.02, "{}", d.label);
            assert!(withheld.is_none(), "{}: {withheld:?}", d.label);
        }
        assert!(!d.warnings.iter().any(|w| w.starts_with("no reference_db")));
    }
}
