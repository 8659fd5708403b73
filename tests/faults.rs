//! Faults in a capture are reported with the time they happen (±20 ms), and healthy captures
//! (noisy, distorted, filtered) raise none.

mod common;

use common::*;
use sweeplab::dsp::filters::Biquad;
use sweeplab::dsp::sweep::SweepDesign;

fn setup() -> (SweepDesign, Vec<f64>, Vec<f64>) {
    let d = SweepDesign::new(&spec(48000)).unwrap();
    let stim = d.generate();
    let fs = 48000.0;
    let mut y = delay(
        &biquads(&stim, &[Biquad::peaking(fs, 3000.0, 1.0, 4.0)]),
        240,
    );
    y.extend(vec![0.0; 4800]);
    add_noise(&mut y, -80.0, 9);
    (d, stim, y)
}

/// The channel's warning that starts with `prefix` (the test fails, naming `case` and the
/// warnings there are, when there is none).
fn warning<'a>(a: &'a sweeplab::results::ChannelAnalysis, prefix: &str, case: &str) -> &'a str {
    a.warnings
        .iter()
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("{case}: no {prefix:?} in {:?}", a.warnings))
}

fn time_in(w: &str) -> f64 {
    let i = w.find(" at ").unwrap() + 4;
    w[i..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn dropout_is_named_with_its_time() {
    let (d, stim, mut y) = setup();
    let at = (1.7 * 48000.0) as usize;
    y[at..at + 300].iter_mut().for_each(|v| *v = 0.0);
    let a = analyze_one(&d, &stim, &y);
    let w = warning(&a, "dropout", "");
    assert!((time_in(w) - 1.7).abs() < 0.02, "{w}");
    assert!(w.contains("300 samples"), "{w}");
}

#[test]
fn gain_step_is_named_with_its_time() {
    let (d, stim, mut y) = setup();
    let at = (2.1 * 48000.0) as usize;
    y[at..].iter_mut().for_each(|v| *v *= 0.5); // −6 dB from 2.1 s on
    let a = analyze_one(&d, &stim, &y);
    let w = warning(&a, "gain change", "");
    assert!((time_in(w) - 2.1).abs() < 0.02, "{w}");
}

#[test]
fn a_click_is_a_glitch() {
    let (d, stim, mut y) = setup();
    let at = (1.4 * 48000.0) as usize;
    for (k, v) in y[at..at + 48].iter_mut().enumerate() {
        *v += 0.3 * (-(k as f64) / 8.0).exp() * if k % 2 == 0 { 1.0 } else { -1.0 };
    }
    let a = analyze_one(&d, &stim, &y);
    let w = warning(&a, "glitch", "");
    assert!((time_in(w) - 1.4).abs() < 0.03, "{w}");
}

#[test]
fn healthy_captures_raise_no_fault() {
    let (d, stim, y) = setup();
    assert!(analyze_one(&d, &stim, &y).warnings.is_empty());
    // 1 % THD
    let amp = d.amplitude;
    let a2 = 2.0 * 0.01 / amp;
    let z: Vec<f64> = y.iter().map(|&x| x + a2 * x * x).collect();
    let a = analyze_one(&d, &stim, &z);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    // 40 dB SNR
    let mut n = delay(&stim, 100);
    add_noise(&mut n, -52.0, 4);
    let a = analyze_one(&d, &stim, &n);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    // a quiet digital loopback in 16 bits, no noise: the sweep 40, 50 and 60 dB down rounds
    // to zero for a few samples at each zero crossing, and sits on one code at its crests;
    // neither is a dropout nor a clipped top (269 to 1114 "flat tops" were reported); at 96
    // and 192 kHz a crossing lasts twice and four times as many samples (a rule of 64 steps
    // around a run, right at 48 kHz, read 4 and 14 dropouts there)
    for (rate, down_db) in [
        (48000, 40.0),
        (48000, 50.0),
        (48000, 60.0),
        (96000, 53.0),
        (192000, 50.0),
    ] {
        let d = SweepDesign::new(&spec(rate)).unwrap();
        let stim = d.generate();
        let g = 10f64.powf(-down_db / 20.0);
        let mut q: Vec<f64> = delay(&stim, 240)
            .iter()
            .map(|v| (v * g * 32768.0).round() / 32768.0)
            .collect();
        q.extend(vec![0.0; rate as usize / 10]);
        let zeros = q.iter().filter(|v| **v == 0.0).count();
        let a = analyze_one(&d, &stim, &q);
        assert!(
            a.warnings.is_empty(),
            "{rate} Hz, -{down_db} dB: {:?}",
            a.warnings
        );
        assert!(
            !a.notes.iter().any(|n| n.contains("lost the sweep")),
            "-{down_db} dB: {:?}",
            a.notes
        );
        assert!(zeros > 5000, "{zeros}");
    }
}

/// Where a capture lost the sweep (digital silence), the response and THD points the loss
/// changes are left out and named, and every point kept stays true: the response within
/// 0.2 dB of the chain's exact response from 20 Hz, THD within 12 % of its exact 1 %·|H(f)| (both the
/// tolerances the clean capture meets, checked first). Three losses: 600 ms muted mid-sweep,
/// 10 ms in the sweep's first octave (not looked for there before, and no warning) and 10 ms
/// mid-sweep. Before, every point was kept (on an audit's simulated usb-mic and studio headphones
/// captures): the muted stretch's edges read 9–78 dB low and
/// its THD 2–15 %, and a 10 ms loss at 25 Hz put THD ten times too high up to 55 Hz.
#[test]
fn a_dropout_takes_out_the_points_it_changes() {
    let (d, stim, y) = setup();
    let fs = 48000.0;
    let eq = Biquad::peaking(fs, 3000.0, 1.0, 4.0);
    let truth_db = |f: f64| 20.0 * eq.response(f, fs).norm().log10();
    // 1 % THD (second harmonic) at the sweep's level, times the EQ: z = y + a2·y²
    let a2 = 2.0 * 0.01 / d.amplitude;
    let z: Vec<f64> = y.iter().map(|&x| x + a2 * x * x).collect();
    let thd_truth = |f: f64| eq.response(f, fs).norm();
    let check = |a: &sweeplab::results::ChannelAnalysis, case: &str| -> (f64, f64) {
        let fr = &a.frequency_response;
        let mut worst_db = 0.0f64;
        for (f, g) in fr.freq_hz.iter().zip(&fr.gain_db) {
            if (20.0..16000.0).contains(f) {
                worst_db = worst_db.max((g - truth_db(*f)).abs());
            }
        }
        let mut worst_thd = 0.0f64;
        for (f, p) in a.thd.freq_hz.iter().zip(&a.thd.percent) {
            if (60.0..6000.0).contains(f) {
                worst_thd = worst_thd.max((p / thd_truth(*f) - 1.0).abs());
            }
        }
        // the device makes only H2: no higher harmonic stands out of the noise (a loss's
        // smear in their windows read as H2 up to 15 times its level beside a muted stretch)
        let mut loudest_other = f64::NEG_INFINITY;
        for h in a.thd.harmonics.iter().filter(|h| h.order >= 3) {
            for v in h.relative_db.iter().flatten() {
                loudest_other = loudest_other.max(*v);
            }
        }
        assert!(
            loudest_other < -60.0,
            "{case}: a harmonic above H2 at {loudest_other} dB"
        );
        eprintln!(
            "{case}: response within {worst_db:.3} dB, THD within {:.1} %",
            worst_thd * 100.0
        );
        assert!(worst_db <= 0.2, "{case}: {worst_db} dB");
        assert!(worst_thd <= 0.12, "{case}: THD off by {worst_thd}");
        (worst_db, worst_thd)
    };
    let clean = analyze_one(&d, &stim, &z);
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
    check(&clean, "clean");
    let start = d.pre_samples() + 240;
    for (case, at_s, len_s) in [
        ("600 ms muted", 1.0, 0.6),
        ("10 ms in the first octave", 0.1, 0.01),
        ("10 ms mid-sweep", 1.4, 0.01),
    ] {
        let mut lost = z.clone();
        let a0 = start + (at_s * fs) as usize;
        lost[a0..a0 + (len_s * fs) as usize]
            .iter_mut()
            .for_each(|v| *v = 0.0);
        let a = analyze_one(&d, &stim, &lost);
        let w = warning(&a, "dropout", case);
        assert!((time_in(w) - a0 as f64 / fs).abs() < 0.001, "{case}: {w}");
        // the frequencies swept while the capture was silent are not in the response, nor
        // are THD's fundamentals there
        let (f0, f1) = (d.frequency_at(at_s), d.frequency_at(at_s + len_s));
        let inside = |f: &f64| *f >= f0 && *f <= f1;
        assert!(!a.frequency_response.freq_hz.iter().any(inside), "{case}");
        assert!(!a.thd.freq_hz.iter().any(inside), "{case}");
        let note = a
            .notes
            .iter()
            .find(|n| n.contains("where the capture lost the sweep"))
            .unwrap_or_else(|| panic!("{case}: {:?}", a.notes));
        let named: usize = note.split(' ').next().unwrap().parse().unwrap();
        let swept = clean
            .frequency_response
            .freq_hz
            .iter()
            .filter(|f| inside(f))
            .count();
        assert!(named >= swept, "{case}: {named} < {swept}: {note}");
        check(&a, case);
    }
    // 5 ms lost inside the sweep's fade-in (a gate opening late): no fault, a note, and
    // the lowest points it changes left out (20 Hz moved by 0.28 dB, unsaid)
    let mut late_gate = z.clone();
    let a0 = start + (0.5 * d.fade_in_s * fs) as usize;
    late_gate[a0..a0 + 240].iter_mut().for_each(|v| *v = 0.0);
    let a = analyze_one(&d, &stim, &late_gate);
    assert!(
        !a.warnings.iter().any(|w| sweeplab::results::is_fault(w)),
        "{:?}",
        a.warnings
    );
    assert!(
        a.notes.iter().any(|n| n.contains("in the sweep's fade-in")),
        "{:?}",
        a.notes
    );
    check(&a, "5 ms in the fade-in");
    // silence from the pre-roll on (a gate that opens late): up to the middle of the
    // fade-in it is a note; on past the fade-in, a dropout named from the sweep's arrival
    // (the search began one sample before the arrival, where no sweep frequency is, and
    // silence that began there was not seen at all)
    for (until_s, fault) in [(0.5 * d.fade_in_s, false), (0.3, true)] {
        let mut gated = z.clone();
        let end = start + (until_s * fs) as usize;
        gated[start - 2400..end].iter_mut().for_each(|v| *v = 0.0);
        let a = analyze_one(&d, &stim, &gated);
        let faults: Vec<&String> = a
            .warnings
            .iter()
            .filter(|w| sweeplab::results::is_fault(w))
            .collect();
        if fault {
            let w = warning(&a, "dropout", "silent from the pre-roll on");
            assert!((time_in(w) - start as f64 / fs).abs() < 0.001, "{w}");
        } else {
            assert!(faults.is_empty(), "{faults:?}");
            assert!(
                a.notes.iter().any(|n| n.contains("in the sweep's fade-in")),
                "{:?}",
                a.notes
            );
        }
    }
}

/// An AGC acting mid-sweep, abrupt or over a 50 ms ramp, down 6 or 10 dB or up 9.5 dB, at
/// three places of the sweep (200 Hz, 630 Hz and 3.2 kHz, this one on the chain's 4 dB peak):
/// every one is warned about with its time (±0.05 s), and no clock drift is claimed beside
/// it. Before, an abrupt step near 200 Hz (its transition 0.14 octave wide through the
/// response's window, with a 4.7 dB undershoot) was not found, and the excess phase it leaves
/// was reported as a drift of −139 ppm (an audit's 40 simulated steps: 7 missed).
#[test]
fn agc_steps_are_found_wherever_and_however_they_act() {
    let (d, stim, y) = setup();
    let fs = 48000.0;
    let start = d.pre_samples() + 240;
    for at_s in [1.0, 1.5, 2.2] {
        for (gain_db, ramp_s) in [(-10.0, 0.0), (-6.0, 0.0), (-10.0, 0.05), (9.5, 0.0)] {
            let mut z = y.clone();
            let a0 = start + (at_s * fs) as usize;
            let g = 10f64.powf(gain_db / 20.0);
            let ramp = (ramp_s * fs) as usize;
            for (k, v) in z[a0..].iter_mut().enumerate() {
                let t = if ramp == 0 {
                    1.0
                } else {
                    (k as f64 / ramp as f64).min(1.0)
                };
                *v *= 1.0 + (g - 1.0) * t;
            }
            let case = format!(
                "{gain_db:+} dB at {:.0} Hz, ramp {ramp_s} s",
                d.frequency_at(at_s)
            );
            let a = analyze_one(&d, &stim, &z);
            let w = warning(&a, "gain change", &case);
            let when = (a0 + ramp / 2) as f64 / fs;
            assert!((time_in(w) - when).abs() < 0.05, "{case}: {w}");
            assert!(
                !a.warnings.iter().any(|w| w.starts_with("clock drift")),
                "{case}: {:?}",
                a.warnings
            );
            assert!(a.drift_ppm.is_none(), "{case}");
        }
    }
}

/// A noise gate (−40 dBFS, 5 ms) on a device that passes nothing above 8 kHz (a 12th-order
/// low-pass, as a Bluetooth headset's mic path): the gate closes where the sweep has left the
/// passband. That is no dropout (no fault: the device stays in the claims), but a note says
/// where the capture holds digital silence, and no point it changes is kept. A capture the
/// sweep was muted in from its second second on still names the dropout, though nothing
/// of the response is left to report.
#[test]
fn a_gate_closing_on_a_quiet_sweep_is_no_dropout_and_a_muted_capture_says_it_is_one() {
    let (d, stim, y) = setup();
    let fs = 48000.0;
    // 12th-order Butterworth: six sections
    let lp: Vec<Biquad> = [0.5043, 0.5412, 0.6302, 0.8213, 1.3066, 3.8306]
        .iter()
        .map(|&q| Biquad::lowpass(fs, 8000.0, q))
        .collect();
    let x = biquads(&y, &lp);
    // the gate: open while the level (5 ms peak) stands above −40 dBFS
    let w = 240;
    let thr = 0.01;
    let gated: Vec<f64> = (0..x.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(w / 2), (i + w / 2).min(x.len()));
            let open = x[a..b].iter().any(|v| v.abs() > thr);
            if open { x[i] } else { 0.0 }
        })
        .collect();
    let a = analyze_one(&d, &stim, &gated);
    assert!(
        !a.warnings.iter().any(|w| sweeplab::results::is_fault(w)),
        "{:?}",
        a.warnings
    );
    let note = a
        .notes
        .iter()
        .find(|n| n.contains("digital silence during the sweep where the capture was already"))
        .unwrap_or_else(|| panic!("{:?}", a.notes));
    assert!(note.contains("a noise gate"), "{note}");
    // muted from 2 s into the sweep to the end: the dropout is named
    let mut muted = y.clone();
    let from = d.pre_samples() + 240 + (1.0 * fs) as usize;
    muted[from..].iter_mut().for_each(|v| *v = 0.0);
    let a = analyze_one(&d, &stim, &muted);
    let w = warning(&a, "dropout", "muted");
    assert!((time_in(w) - from as f64 / fs).abs() < 0.001, "{w}");
}
