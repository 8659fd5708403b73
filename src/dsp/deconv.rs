//! Deconvolution by spectral division, regularized only outside the swept band.
//!
//! H(f) = Y(f)·X*(f) / (|X(f)|² + ε(f)), with ε inside [f₁, f₂] only a safety floor 40 dB
//! under the sweep's envelope (plain division to within 0.001 dB, which is exact there for a
//! linear system) and, outside, a regularization that follows the
//! sweep's pink (1/f) envelope and fades in over one octave, so the band edges roll off
//! smoothly instead of ringing.

use std::f64::consts::PI;

use realfft::num_complex::{Complex32, Complex64};

use rayon::prelude::*;

use super::fft::{FftCache, good_size};

/// The regularized inverse of one stimulus, reusable for every capture channel.
pub struct Deconvolver {
    /// Circular FFT length.
    pub n: usize,
    pub sample_rate: f64,
    inverse: Vec<Complex64>,
    /// The stimulus spectrum (for predicting a capture from a response, which only fault
    /// detection does): single precision, half the memory; its rounding (−150 dB) is far
    /// below anything a fault residual is compared with.
    stimulus: Vec<Complex32>,
}

/// In-band safety floor relative to the sweep's envelope (−40 dB).
const IN_BAND_FLOOR: f64 = 1e-4;

/// Octaves over which the out-of-band regularization fades in.
const RAMP_OCTAVES: f64 = 1.0;

impl Deconvolver {
    /// `min_len`: the FFT length must cover the longer of stimulus and capture plus the room
    /// the harmonic impulse responses need before the linear one.
    pub fn new(
        stimulus: &[f64],
        min_len: usize,
        sample_rate: f64,
        band_hz: (f64, f64),
        fft: &mut FftCache,
    ) -> Self {
        let n = good_size(min_len.max(stimulus.len()));
        let x = fft.forward(stimulus, n);
        let df = sample_rate / n as f64;
        let (f1, f2) = band_hz;
        // envelope references: mean |X|² just inside each band edge, scaled as 1/f
        let mean_power = |lo: f64, hi: f64| {
            let (a, b) = (
                ((lo / df).ceil() as usize).max(1),
                ((hi / df).floor() as usize).min(x.len() - 1),
            );
            if b < a {
                return x
                    .get(a.min(x.len() - 1))
                    .map(|v| v.norm_sqr())
                    .unwrap_or(0.0);
            }
            x[a..=b].iter().map(|v| v.norm_sqr()).sum::<f64>() / (b - a + 1) as f64
        };
        let low_ref =
            mean_power(f1 * 2f64.powf(1.0 / 6.0), f1 * 2f64.powf(1.0 / 3.0)) * f1 * 2f64.powf(0.25);
        let high_ref = mean_power(f2 * 2f64.powf(-1.0 / 3.0), f2 * 2f64.powf(-1.0 / 6.0))
            * f2
            * 2f64.powf(-0.25);
        let floor =
            x.iter().map(|v| v.norm_sqr()).fold(0.0f64, f64::max) * 1e-20 + f64::MIN_POSITIVE;
        // safety floor inside the band, 40 dB under the sweep's 1/f envelope: it changes the
        // result by < 0.001 dB where the sweep has energy, and stops a division by nothing
        // where a stimulus from another tool ends (fades out) before its stated end frequency
        let mid = (f1 * f2).sqrt();
        let env = {
            let (a, b) = (
                ((mid / 2.0).max(f1) / df) as usize,
                (((mid * 2.0).min(f2) / df) as usize).min(x.len() - 1),
            );
            let mut v: Vec<f64> = (a.max(1)..=b.max(a.max(1)))
                .map(|k| x[k].norm_sqr() * k as f64 * df)
                .collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        // bin by bin, independent: split over rayon's threads (the order is kept)
        let inverse: Vec<Complex64> = x
            .par_iter()
            .enumerate()
            .map(|(k, &xk)| {
                let f = k as f64 * df;
                let eps = if f < f1 {
                    let octs = if f > 0.0 {
                        (f1 / f).log2()
                    } else {
                        f64::INFINITY
                    };
                    ramp(octs) * low_ref / f.max(df * 0.5)
                } else if f > f2 {
                    ramp((f / f2).log2()) * high_ref / f
                } else {
                    IN_BAND_FLOOR * env / f
                };
                // the safety floor applies everywhere, so the ramps start from it at the band edges
                let eps = if f < f1 || f > f2 {
                    eps + IN_BAND_FLOOR * env / f.max(df * 0.5)
                } else {
                    eps
                };
                xk.conj() / (xk.norm_sqr() + eps + floor)
            })
            .collect();
        Deconvolver {
            n,
            sample_rate,
            inverse,
            stimulus: x
                .par_iter()
                .map(|c| Complex32::new(c.re as f32, c.im as f32))
                .collect(),
        }
    }

    /// The circular impulse response (length `n`) of `capture` against the stimulus: the
    /// linear response at lags ≥ 0, harmonic responses wrapped to the end (negative lags).
    /// `dc` is subtracted from the capture on the way in.
    pub fn impulse_response(&self, capture: &[f64], dc: f64, fft: &mut FftCache) -> Vec<f64> {
        self.impulse_from_spectrum(fft.forward_offset(capture, dc, self.n), fft)
    }

    /// [`Deconvolver::impulse_response`] from the capture's spectrum on this length (made
    /// beforehand, e.g. while this deconvolver was being made).
    pub fn impulse_from_spectrum(&self, mut y: Vec<Complex64>, fft: &mut FftCache) -> Vec<f64> {
        assert_eq!(y.len(), self.n / 2 + 1, "a spectrum of another length");
        for (yk, ik) in y.iter_mut().zip(&self.inverse) {
            *yk *= ik;
        }
        fft.inverse_owned(y, self.n)
    }
}

impl Deconvolver {
    /// The stimulus deconvolved by its own inverse: the band-limited impulse (peak at index 0)
    /// that a perfect device would give, with the deconvolution's own ringing.
    pub fn self_response(&self, fft: &mut FftCache) -> Vec<f64> {
        let y: Vec<Complex64> = self
            .stimulus
            .iter()
            .zip(&self.inverse)
            .map(|(x, i)| Complex64::new(f64::from(x.re), f64::from(x.im)) * i)
            .collect();
        fft.inverse_owned(y, self.n)
    }

    /// The stimulus's own impulse response ([`Deconvolver::self_response`]) and the part of
    /// it that the stimulus's samples in `stretches` (half-open, clamped to the stimulus)
    /// make: what a capture that lost those samples lacks, for a device with a flat
    /// response. The stimulus is taken back from its spectrum (single precision: −150 dB).
    pub fn lost_stretches(
        &self,
        stretches: &[(isize, isize)],
        fft: &mut FftCache,
    ) -> (Vec<f64>, Vec<f64>) {
        let x: Vec<Complex64> = self
            .stimulus
            .iter()
            .map(|c| Complex64::new(f64::from(c.re), f64::from(c.im)))
            .collect();
        let stimulus = fft.inverse_owned(x, self.n);
        let mut part = vec![0.0; self.n];
        for &(a, b) in stretches {
            let (a, b) = (
                a.clamp(0, self.n as isize) as usize,
                b.clamp(0, self.n as isize) as usize,
            );
            part[a..b.max(a)].copy_from_slice(&stimulus[a..b.max(a)]);
        }
        drop(stimulus);
        let lost = self.impulse_response(&part, 0.0, fft);
        (self.self_response(fft), lost)
    }

    /// The stimulus filtered by a response given as its spectrum on this FFT length
    /// (circular convolution of length `n`).
    pub fn predict(&self, response: &[Complex64], fft: &mut FftCache) -> Vec<f64> {
        let y: Vec<Complex64> = self
            .stimulus
            .iter()
            .zip(response)
            .map(|(x, h)| Complex64::new(f64::from(x.re), f64::from(x.im)) * h)
            .collect();
        fft.inverse_owned(y, self.n)
    }
}

/// 0 at the band edge, rising as a raised cosine to 1 at RAMP_OCTAVES outside it.
fn ramp(octaves_outside: f64) -> f64 {
    if octaves_outside >= RAMP_OCTAVES {
        1.0
    } else if octaves_outside <= 0.0 {
        0.0
    } else {
        0.5 - 0.5 * (PI * octaves_outside / RAMP_OCTAVES).cos()
    }
}
