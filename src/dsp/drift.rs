//! Clock drift between playback and capture, from the excess phase of the response.
//!
//! A capture clock that runs (1 + ε) times as fast as the playback clock stretches the sweep:
//! the frequency f, played t(f) = t₀ + L·ln(f/f₀) into the stimulus, arrives ε·t(f) later than
//! it should. That is a group delay growing linearly with t(f). The device itself adds group
//! delay too, but for a minimum-phase device (filters, transducers) that part is fixed by the
//! magnitude response; the excess phase — measured phase minus the minimum phase computed from
//! the magnitude by the real cepstrum — is then a pure delay plus the drift term:
//! φ_ex(f) = α − 2π·(c·f + ε·L·f·ln(f/f₀)). A least-squares fit of that model gives ε.

use std::f64::consts::PI;

use realfft::num_complex::Complex64;

use super::fft::FftCache;

/// Drift at or beyond this (ppm) is warned about.
pub const DRIFT_WARN_PPM: f64 = 5.0;
/// Drift beyond this (ppm) is not a clock: crystal oscillators stay within ±100 ppm and even
/// poor USB devices within a few hundred. Beyond it, something else (a stimulus that does
/// not belong to the capture, a resampler) is at work.
pub const DRIFT_PLAUSIBLE_PPM: f64 = 1000.0;
/// A drift fit counts only when its estimate is this many standard errors from zero …
const DRIFT_MIN_T: f64 = 5.0;
/// … and the excess phase left after it is below this (radians RMS): otherwise the response
/// is not a minimum-phase system plus a delay (reflections, a room) and the model fails.
const DRIFT_MAX_RESIDUAL_RAD: f64 = 0.3;

/// A drift estimate and how far it can be trusted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftFit {
    /// ε (1e-6 = 1 ppm; positive: the capture clock runs fast).
    pub drift: f64,
    /// Standard error of ε from the fit's residuals.
    pub std_error: f64,
    /// RMS of the excess phase left after the fit, radians: large when the response is not
    /// a minimum-phase system plus a delay (reflections, a room), so the model does not hold.
    pub residual_rad: f64,
}

/// Estimates the drift ε (1e-6 = 1 ppm) from a windowed linear impulse response whose main
/// peak sits at index 0 (pre-peak samples wrapped to the end), length a power of two.
/// `swept_hz`: the swept band (outside it the deconvolution's zero-phase band limiting would
/// fake a minimum phase, so the magnitude is held at its band-edge values there);
/// `fit_band_hz`: where the response is reliable; `rate_l_s`, `phase_start_hz`: the sweep's.
pub fn estimate_drift(
    ir: &[f64],
    sample_rate: f64,
    swept_hz: (f64, f64),
    fit_band_hz: (f64, f64),
    rate_l_s: f64,
    phase_start_hz: f64,
    fft: &mut FftCache,
) -> Option<DriftFit> {
    let m = ir.len();
    let spec = fft.forward(ir, m);
    let df = sample_rate / m as f64;
    let peak = spec.iter().map(|c| c.norm()).fold(0.0f64, f64::max);
    if peak.is_nan() || peak <= 0.0 {
        return None;
    }
    let floor = peak * 1e-6;
    // real cepstrum of the log magnitude, folded to the causal side → minimum phase
    let (e0, e1) = (
        ((swept_hz.0 / df).ceil() as usize).max(1),
        ((swept_hz.1 / df).floor() as usize).min(spec.len() - 1),
    );
    let logmag: Vec<Complex64> = (0..spec.len())
        .map(|k| Complex64::new(spec[k.clamp(e0, e1)].norm().max(floor).ln(), 0.0))
        .collect();
    let cep = fft.inverse(&logmag, m);
    let mut folded = vec![0.0; m];
    folded[0] = cep[0];
    for i in 1..m / 2 {
        folded[i] = 2.0 * cep[i];
    }
    folded[m / 2] = cep[m / 2];
    let minphase = fft.forward(&folded, m); // imaginary part: the unwrapped minimum phase

    let (lo, hi) = fit_band_hz;
    let (k0, k1) = (
        (lo / df).ceil() as usize,
        ((hi / df).floor() as usize).min(spec.len() - 1),
    );
    if k1 <= k0 + 8 {
        return None;
    }
    // unwrap the excess phase along the bins of the fit band
    let mut excess = Vec::with_capacity(k1 - k0 + 1);
    let mut prev = 0.0;
    let mut offset = 0.0;
    for (i, k) in (k0..=k1).enumerate() {
        let raw = (spec[k] * Complex64::from_polar(1.0, -minphase[k].im)).arg();
        if i > 0 {
            let d = raw - prev;
            offset -= 2.0 * PI * (d / (2.0 * PI)).round();
        }
        prev = raw;
        excess.push(raw + offset);
    }
    // sample at log-spaced frequencies (every 1/48 octave) so each octave weighs the same
    let mut rows = Vec::new();
    let mut f = lo;
    while f <= hi {
        let x = f / df - k0 as f64;
        let i = x.floor() as usize;
        if i + 1 < excess.len() {
            let t = x - i as f64;
            rows.push((f, excess[i] * (1.0 - t) + excess[i + 1] * t));
        }
        f *= 2f64.powf(1.0 / 48.0);
    }
    if rows.len() < 12 {
        return None;
    }
    // least squares: φ = α + a·f + b·f·ln(f/f₀) + c/f + d·f³   (f in kHz for conditioning). The c/f
    // term absorbs what the held band-edge magnitude misses of a device roll-off below the
    // sweep (its phase decays as 1/f above the edge); one above it is odd in f and absorbed by
    // a·f and an f³ term.
    let mut ata = [[0.0; 5]; 5];
    let mut atb = [0.0; 5];
    for &(f, phi) in &rows {
        let fk = f / 1000.0;
        let r = [
            1.0,
            fk,
            fk * (f / phase_start_hz).ln(),
            1.0 / fk,
            (fk / 10.0).powi(3),
        ];
        for i in 0..5 {
            for j in 0..5 {
                ata[i][j] += r[i] * r[j];
            }
            atb[i] += r[i] * phi;
        }
    }
    let coef = solve(ata, atb)?;
    let row = |f: f64| {
        let fk = f / 1000.0;
        [
            1.0,
            fk,
            fk * (f / phase_start_hz).ln(),
            1.0 / fk,
            (fk / 10.0).powi(3),
        ]
    };
    let rss: f64 = rows
        .iter()
        .map(|&(f, phi)| {
            let r = row(f);
            let fit: f64 = (0..5).map(|i| r[i] * coef[i]).sum();
            (phi - fit).powi(2)
        })
        .sum();
    let dof = (rows.len() - 5) as f64;
    let sigma2 = rss / dof;
    // the variance of coefficient 2: σ² · (AᵀA)⁻¹[2][2]
    let mut e2 = [0.0; 5];
    e2[2] = 1.0;
    let inv_col = solve(ata, e2)?;
    let scale = -1.0 / (1000.0 * 2.0 * PI * rate_l_s);
    Some(DriftFit {
        drift: coef[2] * scale,
        std_error: (sigma2 * inv_col[2]).max(0.0).sqrt() * scale.abs(),
        residual_rad: (rss / rows.len() as f64).sqrt(),
    })
}

/// Gaussian elimination with partial pivoting.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    for c in 0..N {
        let p = (c..N).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-300 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..N {
            let f = a[r][c] / a[c][c];
            let pivot_row = a[c];
            for (x, p) in a[r][c..].iter_mut().zip(&pivot_row[c..]) {
                *x -= f * p;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0.0; N];
    for c in (0..N).rev() {
        x[c] = (b[c] - (c + 1..N).map(|k| a[c][k] * x[k]).sum::<f64>()) / a[c][c];
    }
    Some(x)
}

/// The drift of a capture's clock (ppm) from `short`, a window of its linear response, fitted
/// over `fit_band` of a sweep over `swept_hz`: `None` with a note saying why when the capture
/// is not `complete`, the band is too narrow, the fit fails or does not hold (reflections), or
/// it gives no plausible clock; a warning when it is significant and ≥ 5 ppm.
#[allow(clippy::too_many_arguments)]
pub fn judged_drift(
    short: &[f64],
    fs: f64,
    swept_hz: (f64, f64),
    fit_band: (f64, f64),
    rate_l_s: f64,
    complete: bool,
    (warnings, notes): (&mut Vec<String>, &mut Vec<String>),
    fft: &mut FftCache,
) -> Option<f64> {
    let mut drift_significant = false;
    let drift_ppm = if !complete {
        notes.push("drift not estimated: the capture does not hold the whole sweep".into());
        None
    } else if fit_band.1 < fit_band.0 * 4.0 {
        notes.push("drift not estimated: the band is too narrow for the fit".into());
        None
    } else {
        match estimate_drift(short, fs, swept_hz, fit_band, rate_l_s, swept_hz.0, fft) {
            None => {
                notes.push("drift not estimated: the fit failed".into());
                None
            }
            Some(fit) if fit.residual_rad > DRIFT_MAX_RESIDUAL_RAD => {
                notes.push(format!(
                    "drift not estimated: the response's excess phase is not a delay plus a drift ({:.2} rad RMS left after the fit: reflections or a room), so the fit does not hold",
                    fit.residual_rad
                ));
                None
            }
            Some(fit) if fit.drift.abs() * 1e6 > DRIFT_PLAUSIBLE_PPM => {
                notes.push(format!(
                    "drift not reported: the fit gives {:+.0} ppm, beyond any clock (±{DRIFT_PLAUSIBLE_PPM:.0} ppm); does the stimulus belong to this capture?",
                    fit.drift * 1e6
                ));
                None
            }
            Some(fit) => {
                drift_significant = fit.drift.abs() >= DRIFT_MIN_T * fit.std_error;
                Some(fit.drift * 1e6)
            }
        }
    };
    if let Some(d) = drift_ppm.filter(|d| d.abs() >= DRIFT_WARN_PPM && drift_significant) {
        warnings.push(format!(
            "clock drift of {d:+.1} ppm between playback and capture (separate devices or clocks?); the response is still valid, phase and group delay include the drift"
        ));
    }
    drift_ppm
}
