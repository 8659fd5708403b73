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

use rayon::prelude::*;

use super::fft::{FftCache, good_size};
use super::ir::extract_window;
use super::smoothing::smooth_power;

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
    /// Per requested smoothing (1/n octave), the power averaged over [f·2^(−1/2n), f·2^(1/2n)]
    /// at each grid frequency, from the fine bins of the windowed spectra (a log grid would
    /// undersample a long window's fine structure).
    pub smoothed_power: Vec<Vec<f64>>,
    /// The noise power the same windows collect from a stretch of pure noise, averaged
    /// like the last of `smoothed_power`, at each grid frequency; `None` without such a
    /// stretch.
    pub noise_power: Option<Vec<f64>>,
    /// The noise the windows collect at each grid frequency itself (|value|² of the noise
    /// windows, blended along the ladder as `values` are), unsmoothed: a steady tone in the
    /// capture lands in the response and in the noise stretch alike, and shows here.
    pub noise_point_power: Option<Vec<f64>>,
    /// Group delay relative to the peak at each grid frequency, s.
    pub group_delay_s: Vec<f64>,
    /// The longest right side used, samples.
    pub longest: usize,
}

/// A spectrum and its bin width, Hz.
type Spectrum = (Vec<Complex64>, f64);

/// Evaluates the response of `h` windowed from `pre` samples before the peak at `peak` to a
/// right side T(f) = max(decay_right, cycles / f) (at most `max_right`) at each `grid`
/// frequency; `cycles` = 0 gives a fixed window of `decay_right`.
#[allow(clippy::too_many_arguments)]
pub fn windowed_response(
    h: &[f64],
    peak: isize,
    pre: usize,
    decay_right: usize,
    max_right: usize,
    cycles: f64,
    grid_hz: &[f64],
    smoothing: &[f64],
    noise: Option<(isize, isize)>,
    sample_rate: f64,
    fft: &FftCache,
) -> WindowedResponse {
    let want = |f: f64| -> f64 {
        (cycles / f * sample_rate)
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
    let cut = |centre: isize, right: usize, len: usize| {
        extract_window(
            h,
            centre,
            -(pre as isize),
            right as isize,
            (pre / 4).max(1),
            ((right as f64 * RIGHT_TAPER) as usize).max(1),
            len,
        )
    };
    // every rung's transform, and the same window over a stretch of pure noise (narrower if
    // the stretch is, its power scaled to the full width): the rungs are independent, and
    // so are the two windows of a rung, so they run side by side (rayon keeps the order)
    let rungs: Vec<(Spectrum, Option<Vec<Complex64>>)> = lengths
        .par_iter()
        .map(|&right| {
            let len = good_size(PAD * (pre + right));
            let (mut fa, mut fb) = (fft.clone(), fft.clone());
            rayon::join(
                || {
                    (
                        fa.forward_owned(cut(peak, right, len), len),
                        sample_rate / len as f64,
                    )
                },
                || {
                    noise.map(|(n0, n1)| {
                        let avail = ((n1 - n0).max(0) as usize).saturating_sub(pre).max(8);
                        let r = right.min(avail);
                        let scale = ((pre + right) as f64 / (pre + r) as f64).sqrt();
                        let mut s = fb.forward_owned(cut(peak + n0 + pre as isize, r, len), len);
                        s.iter_mut().for_each(|c| *c *= scale);
                        s
                    })
                },
            )
        })
        .collect();
    let (spectra, noise_spectra): (Vec<_>, Vec<_>) = rungs.into_iter().unzip();
    let noise_spectra: Option<Vec<Vec<Complex64>>> = noise_spectra.into_iter().collect();
    let eval = |spec: &[Complex64], df: f64, f: f64| -> Complex64 {
        let x = f / df;
        let k = (x.floor() as usize).min(spec.len() - 2);
        let t = x - k as f64;
        spec[k] * (1.0 - t) + spec[k + 1] * t
    };
    let group_delay = |(spec, df): &(Vec<Complex64>, f64), f: f64| -> f64 {
        let k = ((f / df).round() as usize).clamp(1, spec.len() - 2);
        -(spec[k + 1] * spec[k - 1].conj()).arg() / (2.0 * std::f64::consts::PI * 2.0 * df)
    };
    // where each grid frequency sits on the ladder: the two spectra and the weight
    let place: Vec<(usize, Option<(usize, f64)>)> = grid_hz
        .iter()
        .map(|&f| {
            let w = want(f);
            // position in the ladder, in octaves of window length
            let pos = (w / lengths[0] as f64).log2().max(0.0);
            let j = (pos.floor() as usize).min(lengths.len() - 1);
            if j + 1 < lengths.len() {
                let (a, b) = (lengths[j] as f64, lengths[j + 1] as f64);
                (
                    j,
                    Some((j + 1, ((w / a).ln() / (b / a).ln()).clamp(0.0, 1.0))),
                )
            } else {
                (j, None)
            }
        })
        .collect();
    let noise_point_power = noise_spectra.as_ref().map(|ns| {
        grid_hz
            .iter()
            .zip(&place)
            .map(|(&f, &(j, next))| {
                let v = match next {
                    Some((k, t)) => {
                        eval(&ns[j], spectra[j].1, f) * (1.0 - t)
                            + eval(&ns[k], spectra[k].1, f) * t
                    }
                    None => eval(&ns[j], spectra[j].1, f),
                };
                v.norm_sqr()
            })
            .collect()
    });
    let mut values = Vec::with_capacity(grid_hz.len());
    let mut group_delay_s = Vec::with_capacity(grid_hz.len());
    for (&f, &(j, next)) in grid_hz.iter().zip(&place) {
        let (v, near) = match next {
            Some((k, t)) => (
                eval(&spectra[j].0, spectra[j].1, f) * (1.0 - t)
                    + eval(&spectra[k].0, spectra[k].1, f) * t,
                if t < 0.5 { j } else { k },
            ),
            None => (eval(&spectra[j].0, spectra[j].1, f), j),
        };
        values.push(v);
        group_delay_s.push(group_delay(&spectra[near], f));
    }
    // smoothed power from each spectrum's fine bins inside the grid's band (nothing outside
    // the band measured is averaged in), blended along the ladder like the values
    let (lo, hi) = (
        grid_hz.first().copied().unwrap_or(0.0),
        grid_hz.last().copied().unwrap_or(0.0),
    );
    let smooth_ladder = |spectra: &[(&[Complex64], f64)], n: f64| -> Vec<f64> {
        let per_spectrum: Vec<Vec<f64>> = spectra
            .iter()
            .map(|&(spec, ref df)| {
                let (a, b) = (
                    ((lo / df).ceil() as usize).max(1),
                    ((hi / df).floor() as usize).min(spec.len() - 1),
                );
                // the band's own edges, interpolated, then the bins between them
                let mut bin_f = vec![lo];
                let mut bin_p = vec![eval(spec, *df, lo).norm_sqr()];
                for (k, c) in spec.iter().enumerate().take(b.max(a) + 1).skip(a) {
                    let f = k as f64 * df;
                    if f > lo && f < hi {
                        bin_f.push(f);
                        bin_p.push(c.norm_sqr());
                    }
                }
                bin_f.push(hi);
                bin_p.push(eval(spec, *df, hi).norm_sqr());
                smooth_power(&bin_f, &bin_p, grid_hz, n)
            })
            .collect();
        place
            .iter()
            .enumerate()
            .map(|(i, &(j, next))| match next {
                Some((k, t)) => per_spectrum[j][i] * (1.0 - t) + per_spectrum[k][i] * t,
                None => per_spectrum[j][i],
            })
            .collect()
    };
    let signal: Vec<(&[Complex64], f64)> = spectra.iter().map(|(s, df)| (&s[..], *df)).collect();
    // the curves are independent: smoothed side by side
    let (smoothed_power, noise_power) = rayon::join(
        || -> Vec<Vec<f64>> {
            smoothing
                .par_iter()
                .map(|&n| smooth_ladder(&signal, n))
                .collect()
        },
        || {
            noise_spectra.as_ref().map(|ns| {
                let noise: Vec<(&[Complex64], f64)> = ns
                    .iter()
                    .zip(&spectra)
                    .map(|(s, (_, df))| (&s[..], *df))
                    .collect();
                smooth_ladder(&noise, smoothing.last().copied().unwrap_or(6.0))
            })
        },
    );
    WindowedResponse {
        values,
        smoothed_power,
        noise_power,
        noise_point_power,
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
        let fft = FftCache::new();
        let r = windowed_response(
            &h,
            100,
            200,
            480,
            20000,
            FDW_CYCLES,
            &grid,
            &[3.0],
            None,
            48000.0,
            &fft,
        );
        for (v, g) in r.values.iter().zip(&r.group_delay_s) {
            assert!((v.norm() - 0.5).abs() < 1e-9 && v.arg().abs() < 1e-9, "{v}");
            assert!(g.abs() < 1e-9, "{g}");
        }
        for p in &r.smoothed_power[0] {
            assert!((p - 0.25).abs() < 1e-9, "{p}");
        }
        // 15 periods of 20 Hz, capped at the buffer
        assert_eq!(r.longest, 20000);
    }
}
