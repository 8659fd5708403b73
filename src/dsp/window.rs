//! The linear impulse response's window, and the response it gives on the log grid.
//!
//! A deconvolved impulse response is the device's response followed by noise (and anything
//! steady in the capture, such as a hum, which deconvolves into a tone spread over every
//! lag). Windowing it far past its decay only collects that noise into the response. So the
//! right side of the window is cut where the energy-time curve (the squared response in
//! 10 ms blocks) was last 10 dB above the level of the response's tail, and widened at low
//! frequencies to at least [`FDW_CYCLES`] periods (a frequency-dependent window, as REW's
//! FDW), so that low frequencies keep their resolution: T(f) = max(T_decay, cycles / f),
//! never beyond what the buffer holds.
//!
//! The frequency-dependent window is evaluated on a ladder of window lengths T_decay·2^j,
//! each transformed once; at each frequency the two spectra whose lengths bracket T(f) are
//! interpolated in log length. Written here (not taken from a crate) because no maintained
//! crate computes a windowed transfer function from an impulse response.

use realfft::num_complex::Complex64;

use super::fft::{FftCache, good_size};
use super::ir::extract_window;

/// Periods of a frequency that the window spans at least (REW's default FDW width).
pub const FDW_CYCLES: f64 = 15.0;
/// Block length of the energy-time curve used to find the decay, s.
const ETC_BLOCK_S: f64 = 0.01;
/// The decay ends where the energy-time curve was last this far above the tail's level, dB.
const DECAY_MARGIN_DB: f64 = 10.0;
/// Shortest right side of the window, s.
const MIN_RIGHT_S: f64 = 0.005;
/// Share of the right side given to its raised-cosine taper.
const RIGHT_TAPER: f64 = 0.2;
/// Zero padding of each windowed transform (bin spacing a quarter of the window's
/// resolution, so that linear interpolation between bins is exact to 0.01 dB).
const PAD: usize = 4;

/// Where the linear response decays into the noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decay {
    /// Right side of the window at high frequencies, samples after the peak.
    pub right: usize,
    /// Mean square of the response's tail relative to the peak's square, dB.
    pub noise_db: f64,
}

/// Finds the decay of `h` after its peak at `peak`: the tail's level is the mean square over
/// offsets `tail` (a stretch where only noise is left), and the decay ends after the last
/// 10 ms block, within `max_right` samples of the peak, whose mean square is 10 dB above it.
pub fn find_decay(
    h: &[f64],
    peak: isize,
    tail: (isize, isize),
    max_right: usize,
    sample_rate: f64,
) -> Decay {
    let n = h.len() as isize;
    let at = |o: isize| h[(peak + o).rem_euclid(n) as usize];
    let peak_sq = at(0).powi(2).max(f64::MIN_POSITIVE);
    let (t0, t1) = (tail.0.max(1), tail.1.max(tail.0 + 1));
    let noise = (t0..t1).map(|o| at(o).powi(2)).sum::<f64>() / (t1 - t0) as f64;
    let block = ((ETC_BLOCK_S * sample_rate) as usize).max(16);
    let min_right = ((MIN_RIGHT_S * sample_rate) as usize).min(max_right);
    let limit = max_right.min(t0 as usize);
    let threshold = noise * 10f64.powf(DECAY_MARGIN_DB / 10.0);
    let blocks = limit / block;
    let mut last_above = 0usize;
    for b in 0..blocks {
        let e = (b * block..(b + 1) * block)
            .map(|o| at(o as isize).powi(2))
            .sum::<f64>()
            / block as f64;
        if e > threshold {
            last_above = b + 1;
        }
    }
    // one block of margin past the last block above the threshold
    let right = ((last_above + 1) * block).clamp(min_right, max_right.max(min_right));
    Decay {
        right,
        noise_db: 10.0 * (noise / peak_sq).max(1e-30).log10(),
    }
}

/// The linear response of a windowed impulse response on a log grid, with the window's
/// right side growing at low frequencies (see the module documentation).
pub struct WindowedResponse {
    /// Complex response at each grid frequency (the peak at time 0).
    pub values: Vec<Complex64>,
    /// Group delay relative to the peak at each grid frequency, s.
    pub group_delay_s: Vec<f64>,
    /// The longest right side used, samples.
    pub longest: usize,
}

/// Evaluates the response of `h` windowed from `pre` samples before the peak at `peak` to a
/// right side T(f) = max(decay_right, FDW_CYCLES / f) (at most `max_right`) at each `grid`
/// frequency.
#[allow(clippy::too_many_arguments)]
pub fn windowed_response(
    h: &[f64],
    peak: isize,
    pre: usize,
    decay_right: usize,
    max_right: usize,
    grid_hz: &[f64],
    sample_rate: f64,
    fft: &mut FftCache,
) -> WindowedResponse {
    let want = |f: f64| -> f64 {
        (FDW_CYCLES / f * sample_rate)
            .max(decay_right as f64)
            .min(max_right.max(decay_right) as f64)
    };
    let longest = grid_hz
        .iter()
        .map(|&f| want(f))
        .fold(decay_right as f64, f64::max)
        .ceil() as usize;
    // the ladder: decay_right · 2^j, the last one exactly `longest`
    let mut lengths = vec![decay_right.max(1)];
    while *lengths.last().expect("one at least") < longest {
        let next = (lengths.last().expect("one at least") * 2).min(longest);
        lengths.push(next);
    }
    let spectra: Vec<(Vec<Complex64>, f64)> = lengths
        .iter()
        .map(|&right| {
            let len = good_size(PAD * (pre + right));
            let win = extract_window(
                h,
                peak,
                -(pre as isize),
                right as isize,
                (pre / 4).max(1),
                ((right as f64 * RIGHT_TAPER) as usize).max(1),
                len,
            );
            (fft.forward_owned(win, len), sample_rate / len as f64)
        })
        .collect();
    let eval = |(spec, df): &(Vec<Complex64>, f64), f: f64| -> Complex64 {
        let x = f / df;
        let k = (x.floor() as usize).min(spec.len() - 2);
        let t = x - k as f64;
        spec[k] * (1.0 - t) + spec[k + 1] * t
    };
    let group_delay = |(spec, df): &(Vec<Complex64>, f64), f: f64| -> f64 {
        let k = ((f / df).round() as usize).clamp(1, spec.len() - 2);
        -(spec[k + 1] * spec[k - 1].conj()).arg() / (2.0 * std::f64::consts::PI * 2.0 * df)
    };
    let mut values = Vec::with_capacity(grid_hz.len());
    let mut group_delay_s = Vec::with_capacity(grid_hz.len());
    for &f in grid_hz {
        let w = want(f);
        // position in the ladder, in octaves of window length
        let pos = (w / lengths[0] as f64).log2().max(0.0);
        let j = (pos.floor() as usize).min(lengths.len() - 1);
        let (v, near) = if j + 1 < lengths.len() {
            let (a, b) = (lengths[j] as f64, lengths[j + 1] as f64);
            let t = ((w / a).ln() / (b / a).ln()).clamp(0.0, 1.0);
            let v = eval(&spectra[j], f) * (1.0 - t) + eval(&spectra[j + 1], f) * t;
            (v, if t < 0.5 { j } else { j + 1 })
        } else {
            (eval(&spectra[j], f), j)
        };
        values.push(v);
        group_delay_s.push(group_delay(&spectra[near], f));
    }
    WindowedResponse {
        values,
        group_delay_s,
        longest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exponentially decaying response in white noise: the decay is cut where its 10 ms
    /// energy falls 10 dB above the noise (within two blocks of the analytic time).
    #[test]
    fn decay_is_cut_where_it_meets_the_noise() {
        let fs = 48000.0;
        let n = 1 << 16;
        let tau = 0.004 * fs; // amplitude time constant: −2.17 dB/ms
        let sigma = 1e-4;
        let mut seed = 7u64;
        let mut noise = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * (12f64).sqrt() * sigma
        };
        let h: Vec<f64> = (0..n)
            .map(|i| {
                let s = if i < n / 2 {
                    (-(i as f64) / tau).exp()
                } else {
                    0.0
                };
                s + noise()
            })
            .collect();
        let d = find_decay(&h, 0, (20000, 30000), 20000, fs);
        // e^(−2t/τ)·(block mean) = 10·σ²: the block mean of e^(−2t/τ) over 10 ms
        let block = 480.0;
        let mean_decay = |t0: f64| {
            (tau / 2.0) * ((-2.0 * t0 / tau).exp() - (-2.0 * (t0 + block) / tau).exp()) / block
        };
        let mut t_want = 0.0;
        while mean_decay(t_want) > 10.0 * sigma * sigma {
            t_want += block;
        }
        let got = d.right as f64;
        assert!(
            (got - (t_want + block)).abs() <= 2.0 * block,
            "cut at {got} samples, expected about {}",
            t_want + block
        );
        assert!(
            (d.noise_db - 20.0 * sigma.log10()).abs() < 0.5,
            "{}",
            d.noise_db
        );
    }

    /// A delta's windowed response is flat and its group delay zero at every frequency and
    /// window length (1e-9).
    #[test]
    fn a_delta_is_flat_through_every_window() {
        let mut h = vec![0.0; 1 << 15];
        h[100] = 0.5;
        let grid: Vec<f64> = (0..40).map(|i| 20.0 * 2f64.powf(i as f64 / 4.0)).collect();
        let mut fft = FftCache::new();
        let r = windowed_response(&h, 100, 200, 480, 20000, &grid, 48000.0, &mut fft);
        for (v, g) in r.values.iter().zip(&r.group_delay_s) {
            assert!((v.norm() - 0.5).abs() < 1e-9 && v.arg().abs() < 1e-9, "{v}");
            assert!(g.abs() < 1e-9, "{g}");
        }
        // 15 periods of 20 Hz, capped at the buffer
        assert_eq!(r.longest, 20000);
    }
}
