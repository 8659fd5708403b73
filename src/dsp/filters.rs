//! Biquads (RBJ Audio-EQ-Cookbook) and FIR filters: processing and exact evaluation of their
//! frequency responses from the z-transform. Used by the simulated rig and by tests as truth.

use std::f64::consts::PI;

use realfft::num_complex::Complex64;

/// A normalized biquad: H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquad {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

impl Biquad {
    fn from_raw(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Biquad {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
        }
    }
    fn w0_alpha(fs: f64, f0: f64, q: f64) -> (f64, f64, f64) {
        let w0 = 2.0 * PI * f0 / fs;
        (w0.cos(), w0.sin(), w0.sin() / (2.0 * q))
    }
    pub fn lowpass(fs: f64, f0: f64, q: f64) -> Self {
        let (c, _, al) = Self::w0_alpha(fs, f0, q);
        Self::from_raw(
            (1.0 - c) / 2.0,
            1.0 - c,
            (1.0 - c) / 2.0,
            1.0 + al,
            -2.0 * c,
            1.0 - al,
        )
    }
    pub fn highpass(fs: f64, f0: f64, q: f64) -> Self {
        let (c, _, al) = Self::w0_alpha(fs, f0, q);
        Self::from_raw(
            (1.0 + c) / 2.0,
            -(1.0 + c),
            (1.0 + c) / 2.0,
            1.0 + al,
            -2.0 * c,
            1.0 - al,
        )
    }
    pub fn peaking(fs: f64, f0: f64, q: f64, gain_db: f64) -> Self {
        let (c, _, al) = Self::w0_alpha(fs, f0, q);
        let a = 10f64.powf(gain_db / 40.0);
        Self::from_raw(
            1.0 + al * a,
            -2.0 * c,
            1.0 - al * a,
            1.0 + al / a,
            -2.0 * c,
            1.0 - al / a,
        )
    }
    pub fn low_shelf(fs: f64, f0: f64, q: f64, gain_db: f64) -> Self {
        let (c, _, al) = Self::w0_alpha(fs, f0, q);
        let a = 10f64.powf(gain_db / 40.0);
        let s = 2.0 * a.sqrt() * al;
        Self::from_raw(
            a * ((a + 1.0) - (a - 1.0) * c + s),
            2.0 * a * ((a - 1.0) - (a + 1.0) * c),
            a * ((a + 1.0) - (a - 1.0) * c - s),
            (a + 1.0) + (a - 1.0) * c + s,
            -2.0 * ((a - 1.0) + (a + 1.0) * c),
            (a + 1.0) + (a - 1.0) * c - s,
        )
    }
    pub fn high_shelf(fs: f64, f0: f64, q: f64, gain_db: f64) -> Self {
        let (c, _, al) = Self::w0_alpha(fs, f0, q);
        let a = 10f64.powf(gain_db / 40.0);
        let s = 2.0 * a.sqrt() * al;
        Self::from_raw(
            a * ((a + 1.0) + (a - 1.0) * c + s),
            -2.0 * a * ((a - 1.0) + (a + 1.0) * c),
            a * ((a + 1.0) + (a - 1.0) * c - s),
            (a + 1.0) - (a - 1.0) * c + s,
            2.0 * ((a - 1.0) - (a + 1.0) * c),
            (a + 1.0) - (a - 1.0) * c - s,
        )
    }

    /// Exact H(e^{jω}) at `f` Hz.
    pub fn response(&self, f: f64, fs: f64) -> Complex64 {
        let z1 = Complex64::from_polar(1.0, -2.0 * PI * f / fs);
        let z2 = z1 * z1;
        (self.b0 + self.b1 * z1 + self.b2 * z2) / (1.0 + self.a1 * z1 + self.a2 * z2)
    }
}

/// Running state of one biquad (transposed direct form II).
#[derive(Debug, Clone, Copy, Default)]
pub struct BiquadState {
    z1: f64,
    z2: f64,
}

impl BiquadState {
    #[inline]
    pub fn process(&mut self, q: &Biquad, x: f64) -> f64 {
        let y = q.b0 * x + self.z1;
        self.z1 = q.b1 * x - q.a1 * y + self.z2;
        self.z2 = q.b2 * x - q.a2 * y;
        y
    }
}

/// Exact response of an FIR h at `f` Hz: Σ h[n]·e^{−jωn}.
pub fn fir_response(h: &[f64], f: f64, fs: f64) -> Complex64 {
    let w = -2.0 * PI * f / fs;
    h.iter()
        .enumerate()
        .map(|(n, &c)| Complex64::from_polar(c, w * n as f64))
        .sum()
}

/// A Kaiser-windowed-sinc fractional delay of `delay` samples (taps 0..len, symmetric
/// about `delay`), normalized to unity gain at DC. `delay` should be near (len−1)/2.
pub fn fractional_delay_fir(delay: f64, len: usize, beta: f64) -> Vec<f64> {
    let half = (len as f64 - 1.0) / 2.0;
    let window = Kaiser::new(beta);
    let mut h: Vec<f64> = (0..len)
        .map(|n| sinc(n as f64 - delay) * window.at((n as f64 - half) / (half + 1.0)))
        .collect();
    let sum: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v /= sum);
    h
}

/// sin(πx)/(πx), 1 at x = 0.
pub fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

/// The Kaiser window of shape β on [−1, 1] (0 outside), 1 at its centre.
#[derive(Debug, Clone, Copy)]
pub struct Kaiser {
    beta: f64,
    /// I0(β), computed once.
    norm: f64,
}

impl Kaiser {
    pub fn new(beta: f64) -> Self {
        Kaiser {
            beta,
            norm: bessel_i0(beta),
        }
    }

    /// The window at `r` ∈ [−1, 1].
    pub fn at(&self, r: f64) -> f64 {
        if r.abs() < 1.0 {
            bessel_i0(self.beta * (1.0 - r * r).sqrt()) / self.norm
        } else {
            0.0
        }
    }
}

/// Modified Bessel function of the first kind, order 0 (power series), for Kaiser windows.
pub fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..80 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cookbook sanity points: peaking gain at f0, shelf asymptotes, −3.01 dB of a
    /// Butterworth (Q = 1/√2) high-pass at f0; tolerance 1e-9 dB.
    #[test]
    fn cookbook_reference_points() {
        let fs = 48000.0;
        let db = |h: Complex64| 20.0 * h.norm().log10();
        assert!(
            (db(Biquad::peaking(fs, 1000.0, 1.0, 6.0).response(1000.0, fs)) - 6.0).abs() < 1e-9
        );
        let hp = Biquad::highpass(fs, 100.0, std::f64::consts::FRAC_1_SQRT_2);
        assert!((db(hp.response(100.0, fs)) + 10.0 * 2f64.log10()).abs() < 1e-9);
        let ls = Biquad::low_shelf(fs, 200.0, 0.707, -4.0);
        assert!((db(ls.response(0.0, fs)) + 4.0).abs() < 1e-9);
        let hs = Biquad::high_shelf(fs, 5000.0, 0.707, 3.0);
        assert!((db(hs.response(24000.0, fs)) - 3.0).abs() < 1e-9);
    }

    /// Filtering a sine with the state machine gives the amplitude the exact response
    /// predicts (steady state, 1e-6 relative).
    #[test]
    fn processing_matches_evaluated_response() {
        let fs = 48000.0;
        let q = Biquad::peaking(fs, 1000.0, 2.0, -9.0);
        let f = 1300.0;
        let mut st = BiquadState::default();
        let n = 48000;
        let y: Vec<f64> = (0..n)
            .map(|i| st.process(&q, (2.0 * PI * f * i as f64 / fs).sin()))
            .collect();
        let tail = &y[n / 2..];
        let amp = (2.0 * tail.iter().map(|v| v * v).sum::<f64>() / tail.len() as f64).sqrt();
        let want = q.response(f, fs).norm();
        assert!((amp / want - 1.0).abs() < 1e-4, "{amp} vs {want}");
    }

    /// The fractional-delay FIR's group delay equals its centre within 0.001 sample to 0.8·Nyquist.
    #[test]
    fn fractional_delay_group_delay() {
        let fs = 48000.0;
        let h = fractional_delay_fir(63.3, 128, 10.0);
        for f in [100.0, 1000.0, 10000.0, 19000.0] {
            let df = 0.01;
            let p1 = fir_response(&h, f - df, fs).arg();
            let p2 = fir_response(&h, f + df, fs).arg();
            let mut dp = p2 - p1;
            while dp > PI {
                dp -= 2.0 * PI;
            }
            while dp < -PI {
                dp += 2.0 * PI;
            }
            let gd = -dp / (2.0 * PI * 2.0 * df) * fs;
            assert!((gd - 63.3).abs() < 0.001, "{f} Hz: {gd}");
        }
    }
}
