//! The analysis runs its independent parts side by side on rayon's threads (issue 17). The
//! result must not depend on it: the same captures analysed on one thread, on two, channel
//! after channel or side by side, with or without the capture's transform made beforehand,
//! give the same analysis to the last bit (tolerance: none, the JSON text is compared).

mod common;

use common::*;
use rayon::prelude::*;
use sweeplab::dsp::analyze::{Analyzer, capture_spectrum};
use sweeplab::dsp::filters::Biquad;
use sweeplab::dsp::sweep::SweepDesign;

/// Two channels that exercise every part: a filtered, distorted, delayed channel in noise
/// and a quieter one with another response.
fn captures(d: &SweepDesign, stim: &[f64]) -> [Vec<f64>; 2] {
    let fs = f64::from(d.sample_rate);
    let bent: Vec<f64> = stim
        .iter()
        .map(|&x| x + 0.05 * x * x + 0.1 * x * x * x)
        .collect();
    let mut a = delay(
        &biquads(
            &bent,
            &[
                Biquad::highpass(fs, 60.0, 0.7),
                Biquad::peaking(fs, 2500.0, 1.2, 5.0),
            ],
        ),
        480,
    );
    a.extend(vec![0.0; d.sample_rate as usize / 2]);
    add_noise(&mut a, -90.0, 5);
    let mut b = delay(&biquads(stim, &[Biquad::lowpass(fs, 8000.0, 0.9)]), 700);
    b.iter_mut().for_each(|v| *v *= 0.3);
    b.extend(vec![0.0; d.sample_rate as usize / 2]);
    add_noise(&mut b, -80.0, 9);
    [a, b]
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
}

fn text(c: &sweeplab::results::ChannelAnalysis) -> String {
    serde_json::to_string(c).expect("serialisable")
}

#[test]
fn one_thread_or_two_give_the_same_analysis_to_the_last_bit() {
    let d = SweepDesign::new(&spec(48000)).unwrap();
    let stim = d.generate();
    let caps = captures(&d, &stim);
    let len = caps[0].len().max(caps[1].len());

    // one thread, channel after channel, every transform made in turn
    let one: Vec<String> = pool(1).install(|| {
        let a = Analyzer::new(&stim, len, layout(&d));
        caps.iter()
            .enumerate()
            .map(|(i, c)| text(&a.analyze_channel(i, c)))
            .collect()
    });
    // two threads, channels side by side, the first channel's transform made beside the
    // analyzer (as `analyze` does)
    let two: Vec<String> = pool(2).install(|| {
        let n = sweeplab::dsp::analyze::transform_len(
            stim.len(),
            len,
            d.rate_l_s * f64::from(d.sample_rate),
        );
        let (a, first) = rayon::join(
            || Analyzer::new(&stim, len, layout(&d)),
            || capture_spectrum(&caps[0], n),
        );
        assert_eq!(
            a.transform_len(),
            n,
            "the length planned ahead is the analyzer's"
        );
        let mut spectra = vec![Some(first), None];
        caps.par_iter()
            .zip(spectra.par_drain(..))
            .enumerate()
            .map(|(i, (c, s))| text(&a.analyze_channel_with(i, c, s)))
            .collect()
    });
    for (i, (x, y)) in one.iter().zip(&two).enumerate() {
        assert!(x == y, "channel {i} differs between one thread and two");
    }
    // the analysis really measured something in both channels (not two empty results), and
    // the distorted one its harmonics
    let v: Vec<serde_json::Value> = one
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    for c in &v {
        assert!(c["frequency_response"]["freq_hz"].as_array().unwrap().len() > 500);
        assert!(c["noise"].is_object());
    }
    assert!(!v[0]["thd"]["freq_hz"].as_array().unwrap().is_empty());
}
