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
    let w = a
        .warnings
        .iter()
        .find(|w| w.starts_with("dropout"))
        .unwrap_or_else(|| panic!("{:?}", a.warnings));
    assert!((time_in(w) - 1.7).abs() < 0.02, "{w}");
    assert!(w.contains("300 samples"), "{w}");
}

#[test]
fn gain_step_is_named_with_its_time() {
    let (d, stim, mut y) = setup();
    let at = (2.1 * 48000.0) as usize;
    y[at..].iter_mut().for_each(|v| *v *= 0.5); // −6 dB from 2.1 s on
    let a = analyze_one(&d, &stim, &y);
    let w = a
        .warnings
        .iter()
        .find(|w| w.starts_with("gain change"))
        .unwrap_or_else(|| panic!("{:?}", a.warnings));
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
    let w = a
        .warnings
        .iter()
        .find(|w| w.starts_with("glitch"))
        .unwrap_or_else(|| panic!("{:?}", a.warnings));
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
}
