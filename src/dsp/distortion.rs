//! Harmonic distortion from the harmonic impulse responses that an exponential sweep's
//! deconvolution places before the linear one (the k-th at −L·ln k).
//!
//! A harmonic is measured only where it is measured: its frequency k·f inside the swept band
//! with the sweep's fades left out (a harmonic landing in the fade-out is divided by a
//! stimulus that is fading away, which is how band-edge THD spikes are made), the
//! fundamental at full sweep level (past the fade-in), and its level at least 6 dB above the
//! noise of its own window. The noise of a window is measured on a stretch of the impulse
//! response that holds only noise, cut with the same window, and averaged over half an
//! octave. THD sums the harmonics measured; where none is, THD is absent, and the floor
//! under which no harmonic can be seen (the second harmonic's window noise) is reported.

use realfft::num_complex::Complex64;

use super::fft::{FftCache, good_size};
use super::ir::extract_window;
use super::smoothing::smooth_power;
use crate::results::{HarmonicCurve, Thd, ThdFloor};

/// A harmonic counts when it stands this many times (in amplitude) above its window's noise
/// (6 dB).
pub const NOISE_GATE: f64 = 2.0;
/// Smoothing of a window's noise spectrum, 1/n octave.
const NOISE_SMOOTHING: f64 = 2.0;
/// Share of the gap between the linear response and H2 given to the linear window's
/// pre-peak side (its band-edge pre-ringing); H2 keeps the rest.
pub const LINEAR_SHARE: f64 = 0.7;

/// Where the harmonics may be measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HarmonicBand {
    /// Lowest fundamental (the sweep at full level).
    pub fundamental_lo_hz: f64,
    /// Highest frequency a harmonic may have (the band the capture holds, fade-out left out).
    pub harmonic_hi_hz: f64,
}

/// THD and the harmonics 2…`kmax` of the impulse response `h` (main peak at `peak_pos`),
/// for the fundamentals in `grid_hz` within `band`. `h1(f)` is the linear response's
/// magnitude; `lfs` the sweep rate L in samples; `noise` offsets from the peak (start, end)
/// of a stretch holding only noise, if there is one.
#[allow(clippy::too_many_arguments)]
pub fn distortion(
    h: &[f64],
    peak_pos: f64,
    lfs: f64,
    kmax: usize,
    grid_hz: &[f64],
    h1: &dyn Fn(f64) -> f64,
    band: HarmonicBand,
    noise: Option<(isize, isize)>,
    sample_rate: f64,
    fft: &mut FftCache,
) -> Thd {
    let offset = |k: usize| -lfs * (k as f64).ln(); // relative to the linear peak
    // per harmonic: its spectrum and its window's noise floor (magnitude), both per Hz bin
    let mut windows: Vec<HarmonicWindow> = Vec::new();
    for k in 2..=kmax {
        let c = offset(k);
        let left = 0.5 * (offset(k + 1) - c); // negative
        let share = if k == 2 { 1.0 - LINEAR_SHARE } else { 0.5 };
        let right = share * (offset(k - 1) - c);
        let centre = (peak_pos + c).round() as isize;
        let (a, b) = (left.ceil() as isize, right.floor() as isize);
        let len = good_size(((b - a) as usize) * 2);
        let (tl, tr) = (((-a) / 4).max(1) as usize, (b / 4).max(1) as usize);
        let win = extract_window(h, centre, a, b, tl, tr, len);
        let spec = fft.forward_owned(win, len);
        let df = sample_rate / len as f64;
        let floor = noise.map(|(n0, n1)| {
            // the same window over a stretch of noise: as wide as the harmonic's if the
            // stretch allows, else narrower with its power scaled to the full width
            let width = (b - a) as usize;
            let avail = (n1 - n0).max(0) as usize;
            let w = width.min(avail).max(8);
            let scale = width as f64 / w as f64;
            let peak = peak_pos.round() as isize;
            let start = n0 - a; // so that offset a of the window lands on n0
            let seg = extract_window(
                h,
                peak + start,
                a,
                a + w as isize,
                tl.min(w / 2).max(1),
                tr.min(w / 2).max(1),
                len,
            );
            let ns = fft.forward_owned(seg, len);
            let fs_bins: Vec<f64> = (1..ns.len()).map(|i| i as f64 * df).collect();
            let p: Vec<f64> = ns[1..].iter().map(|c| c.norm_sqr() * scale).collect();
            (fs_bins, p)
        });
        windows.push(HarmonicWindow {
            order: k,
            spec,
            df,
            floor,
        });
    }
    let mag = |spec: &[Complex64], df: f64, f: f64| -> f64 {
        let x = f / df;
        let k = (x.floor() as usize).min(spec.len() - 2);
        let t = x - k as f64;
        spec[k].norm() * (1.0 - t) + spec[k + 1].norm() * t
    };
    let top = band.harmonic_hi_hz;
    let fundamentals: Vec<f64> = grid_hz
        .iter()
        .copied()
        .filter(|&f| f >= band.fundamental_lo_hz * (1.0 - 1e-9) && 2.0 * f <= top)
        .collect();
    // each window's noise floor at the harmonic frequencies of the fundamentals, smoothed
    let floors: Vec<Option<Vec<f64>>> = windows
        .iter()
        .map(|w| {
            w.floor.as_ref().map(|(fx, p)| {
                let at: Vec<f64> = fundamentals
                    .iter()
                    .map(|&f| (w.order as f64 * f).min(fx[fx.len() - 1]))
                    .collect();
                smooth_power(fx, p, &at, NOISE_SMOOTHING)
                    .into_iter()
                    .map(|v| v.max(0.0).sqrt())
                    .collect()
            })
        })
        .collect();

    let mut freq_hz = Vec::new();
    let mut percent = Vec::new();
    let mut curves: Vec<Vec<Option<f64>>> = vec![Vec::new(); windows.len()];
    let mut floor_f = Vec::new();
    let mut floor_pct = Vec::new();
    for (i, &f) in fundamentals.iter().enumerate() {
        let h1f = h1(f).max(1e-300);
        if let Some(Some(fl)) = floors.first() {
            floor_f.push(f);
            floor_pct.push(100.0 * fl[i] / h1f);
        }
        let mut sum = 0.0;
        let mut any = false;
        let mut row = Vec::with_capacity(windows.len());
        for (w, floor) in windows.iter().zip(&floors) {
            let fk = w.order as f64 * f;
            if fk > top {
                row.push(None);
                continue;
            }
            let hk = mag(&w.spec, w.df, fk);
            let above = floor.as_ref().is_none_or(|fl| hk >= NOISE_GATE * fl[i]);
            if above {
                sum += hk * hk;
                any = true;
                row.push(Some(20.0 * (hk / h1f).max(1e-15).log10()));
            } else {
                row.push(None);
            }
        }
        if any {
            freq_hz.push(f);
            percent.push(100.0 * sum.sqrt() / h1f);
            for (c, v) in curves.iter_mut().zip(row) {
                c.push(v);
            }
        }
    }
    Thd {
        freq_hz,
        percent,
        harmonics: curves
            .into_iter()
            .enumerate()
            .map(|(i, c)| HarmonicCurve {
                order: i as u32 + 2,
                relative_db: c,
            })
            .collect(),
        noise_floor: (!floor_f.is_empty()).then_some(ThdFloor {
            freq_hz: floor_f,
            percent: floor_pct,
        }),
    }
}

struct HarmonicWindow {
    order: usize,
    spec: Vec<Complex64>,
    df: f64,
    /// Bin frequencies and the noise power of the same window over a noise-only stretch.
    floor: Option<(Vec<f64>, Vec<f64>)>,
}
