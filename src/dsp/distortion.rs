//! Harmonic distortion from the harmonic impulse responses that an exponential sweep's
//! deconvolution places before the linear one (the k-th at −L·ln k).
//!
//! A harmonic is measured only where it is measured: its frequency k·f inside the swept band
//! with the sweep's fades left out (a harmonic landing in the fade-out is divided by a
//! stimulus that is fading away, which is how band-edge THD spikes are made), the
//! fundamental at full sweep level (past the fade-in), and its level at least 10 dB above the
//! noise of its own window (its power averaged over 1/6 octave against the noise power). The
//! noise of a window is measured on a stretch of the impulse response that holds only noise,
//! cut with the same window, and averaged over half an octave. THD sums the harmonics measured; where none is, THD is absent, and the floor
//! under which no harmonic can be seen (the second harmonic's window noise) is reported.

use realfft::num_complex::Complex64;

use super::fft::{FftCache, good_size};
use super::ir::extract_window;
use super::smoothing::smooth_power;
use crate::results::{HarmonicCurve, Thd, ThdFloor};

/// A harmonic counts when it stands this many times (in amplitude) above its window's noise
/// (10 dB: the noise floor of a short high-order window is itself only an estimate).
pub const NOISE_GATE: f64 = 3.16;
/// Smoothing of a window's noise spectrum, 1/n octave.
const NOISE_SMOOTHING: f64 = 2.0;
/// The leakage is estimated on a perfect device; a real one (its own delays and phase)
/// shapes it a little differently, so it counts with a margin of 12 dB.
const LEAK_MARGIN: f64 = 4.0;
/// The smallest harmonic the method resolves, relative to the fundamental (−100 dB): below
/// it, what a window holds is the deconvolution's numerical residue, even on a perfect device.
const RESOLUTION: f64 = 1e-5;
/// A harmonic counts over runs of at least this many consecutive grid points (1/12 octave).
const MIN_RUN: usize = 8;
/// Smoothing of a harmonic's power before it is held against the noise, 1/n octave.
const HARMONIC_SMOOTHING: f64 = 6.0;
/// THD counts at a fundamental only where the harmonics inside the band that were not seen,
/// each taken at its window's floor, add up (root-sum-square) to at most this share of the
/// harmonics seen: then the sum of all of them is at most 12 % (1 dB) above the THD
/// reported. Where a harmonic below its floor could weigh more (the H2 floor of a band's
/// low end above the H3 that was seen), no THD was measured there.
const UNSEEN_SHARE: f64 = 0.5;
/// What a window holds at k·f counts as that harmonic only if it arrives as the device's
/// linear response arrives at the same frequency: its power within a short window around the
/// harmonic's place (`COMPACT_CYCLES` periods of k·f each side, at least `COMPACT_MIN_S`),
/// as a share of its power in the whole window, must be at least this share of the linear
/// response's (both averaged over 1/6 octave, over the points above the floor). A harmonic
/// 10 dB above its noise keeps more than 0.9 of the linear share. What is spread over the
/// window keeps little: an aliased harmonic of a nonlinearity running at the capture's rate (a
/// digital limiter, a clipped capture, a simulated device) is a sweep running the other way,
/// spread over tens of milliseconds (a few per cent); noise that the noise stretch did not
/// show (0.1 on two real recordings with little or no silence, where the gate had passed it
/// as H2: fixtures/realdata/harmonic_arrival.py finds the same by other means).
const COMPACT_SHARE: f64 = 0.5;
/// Periods of the harmonic's frequency each side of its place in the short window.
const COMPACT_CYCLES: f64 = 20.0;
/// The short window's smallest half-width, s.
const COMPACT_MIN_S: f64 = 0.002;
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

/// Where the window of harmonic `k` sits: its centre relative to the linear peak (−L·ln k,
/// samples), its extent (offsets a < 0 < b from that centre), its tapers and its transform
/// length.
struct Geometry {
    centre: f64,
    a: isize,
    b: isize,
    taper: (usize, usize),
    len: usize,
}

fn geometry(k: usize, lfs: f64) -> Geometry {
    let offset = |k: usize| -lfs * (k as f64).ln(); // relative to the linear peak
    let c = offset(k);
    let left = 0.5 * (offset(k + 1) - c); // negative
    let share = if k == 2 { 1.0 - LINEAR_SHARE } else { 0.5 };
    let right = share * (offset(k - 1) - c);
    let (a, b) = (left.ceil() as isize, right.floor() as isize);
    Geometry {
        centre: c,
        a,
        b,
        taper: (((-a) / 4).max(1) as usize, (b / 4).max(1) as usize),
        len: good_size(((b - a) as usize) * 2),
    }
}

/// What the deconvolution itself leaves in each harmonic's window: the stimulus deconvolved
/// by its own inverse is a band-limited impulse whose ringing (strongest at the band's low
/// edge) reaches the windows before it. For a device of response H it reads as |L_k(f)|·|H(f)|
/// in window k, a floor that no harmonic below it can be told from.
pub struct Leakage {
    /// Per order 2…kmax: the magnitude spectrum of window k over the self-deconvolution, and
    /// its bin width.
    spectra: Vec<(Vec<f64>, f64)>,
}

impl Leakage {
    /// From the self-deconvolution `h_self` (peak at index 0).
    pub fn new(
        h_self: &[f64],
        lfs: f64,
        kmax: usize,
        sample_rate: f64,
        fft: &mut FftCache,
    ) -> Self {
        let spectra = (2..=kmax)
            .map(|k| {
                let g = geometry(k, lfs);
                let centre = g.centre.round() as isize;
                let win = extract_window(h_self, centre, g.a, g.b, g.taper.0, g.taper.1, g.len);
                let spec = fft.forward_owned(win, g.len);
                (
                    spec.iter().map(|c| c.norm()).collect(),
                    sample_rate / g.len as f64,
                )
            })
            .collect();
        Leakage { spectra }
    }

    /// |L_k(f)| for order `k`.
    fn at(&self, k: usize, f: f64) -> f64 {
        let Some((m, df)) = self.spectra.get(k - 2) else {
            return 0.0;
        };
        let x = f / df;
        let i = (x.floor() as usize).min(m.len() - 2);
        let t = x - i as f64;
        m[i] * (1.0 - t) + m[i + 1] * t
    }
}

/// THD and the harmonics 2…`kmax` of the impulse response `h` (main peak at `peak_pos`),
/// for the fundamentals in `grid_hz` within `band`. `h1(f)` is the linear response's
/// magnitude; `lfs` the sweep rate L in samples; `noise` offsets from the peak (start, end)
/// of a stretch holding only noise, if there is one; `leakage` the deconvolution's own floor;
/// `lost` the same made of the stretches of the sweep the capture lost (a dropout spreads
/// over every lag: what it leaves in a harmonic's window is a floor under it, read as the
/// deconvolution's own is), with the device's typical magnitude (the median of the points
/// measured), which it is scaled by at least.
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
    leakage: &Leakage,
    lost: Option<(&Leakage, f64)>,
    sample_rate: f64,
    fft: &mut FftCache,
) -> Distortion {
    // per harmonic: its spectrum and its window's noise floor (magnitude), both per Hz bin
    let mut windows: Vec<HarmonicWindow> = Vec::new();
    for k in 2..=kmax {
        let Geometry {
            centre: c,
            a,
            b,
            taper: (tl, tr),
            len,
        } = geometry(k, lfs);
        let centre = (peak_pos + c).round() as isize;
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
    let top = band.harmonic_hi_hz;
    let fundamentals: Vec<f64> = grid_hz
        .iter()
        .copied()
        .filter(|&f| f >= band.fundamental_lo_hz * (1.0 - 1e-9) && 2.0 * f <= top)
        .collect();
    // each window's floor at the harmonic frequencies of the fundamentals: its noise
    // (smoothed) and the deconvolution's own leakage through the device's response
    let floors: Vec<Option<Vec<f64>>> = windows
        .iter()
        .map(|w| {
            let fk = |f: f64| w.order as f64 * f;
            let leak: Vec<f64> = fundamentals
                .iter()
                .map(|&f| {
                    let g = h1(fk(f).min(top));
                    let own = leakage.at(w.order, fk(f)) * g;
                    // the loss's floor through the device's response at k·f, which the
                    // loss itself may have damaged there: at least the device's typical
                    // level (a harmonic landing in the lost stretch read 15x too high)
                    let lost =
                        lost.map_or(0.0, |(l, typical)| l.at(w.order, fk(f)) * g.max(typical));
                    LEAK_MARGIN * (own * own + lost * lost).sqrt()
                })
                .collect();
            let noise: Option<Vec<f64>> = w.floor.as_ref().map(|(fx, p)| {
                // only the bins within the band the capture holds: beyond it the
                // deconvolution divides by the stimulus's fade-out and its regularisation, and
                // its noise rises by orders of magnitude. A 1/2-octave average reaching there
                // lifted every floor within a quarter octave of the top (the H2 floor stepped
                // up 9x at 2f = 16.7 kHz on a real 20 Hz-20 kHz recording, and its THD stopped
                // at 6.9 kHz)
                let m = fx.partition_point(|&x| x <= top).max(2).min(fx.len());
                let (fx, p) = (&fx[..m], &p[..m]);
                let at: Vec<f64> = fundamentals
                    .iter()
                    .map(|&f| fk(f).min(fx[fx.len() - 1]))
                    .collect();
                smooth_power(fx, p, &at, NOISE_SMOOTHING)
            });
            Some(
                leak.iter()
                    .enumerate()
                    .map(|(i, l)| (l * l + noise.as_ref().map_or(0.0, |n| n[i].max(0.0))).sqrt())
                    .collect(),
            )
        })
        .collect();

    // each harmonic's magnitude at k·f, and its power smoothed over 1/6 octave: the gate
    // compares the smoothed power with the (smoothed) noise, so that a single noise peak does
    // not pass for a harmonic (a Rayleigh-distributed magnitude exceeds twice its RMS at one
    // frequency in fifty; averaged over 1/6 octave it hardly ever does)
    let raw: Vec<Vec<Option<f64>>> = windows
        .iter()
        .map(|w| {
            fundamentals
                .iter()
                .map(|&f| {
                    let fk = w.order as f64 * f;
                    (fk <= top).then(|| magnitude_at(&w.spec, w.df, fk))
                })
                .collect()
        })
        .collect();
    let smoothed: Vec<Vec<Option<f64>>> = raw
        .iter()
        .map(|r| {
            let (fx, p): (Vec<f64>, Vec<f64>) = fundamentals
                .iter()
                .zip(r)
                .filter_map(|(&f, v)| v.map(|v| (f, v * v)))
                .unzip();
            if fx.len() < 2 {
                return r.iter().map(|v| v.map(|v| v * v)).collect();
            }
            let sm = smooth_power(&fx, &p, &fx, HARMONIC_SMOOTHING);
            let mut it = sm.into_iter();
            r.iter().map(|v| v.and_then(|_| it.next())).collect()
        })
        .collect();
    // which harmonics stand above their floor at which fundamentals: each point on its own,
    // then only runs of at least MIN_RUN points (1/12 octave), since a harmonic is a smooth
    // curve and a noise peak that passed the gate is a lone point. What stands above the
    // floor but does not arrive as a harmonic is foreign: not counted, and it may hide one
    let above: Vec<Vec<bool>> = floors
        .iter()
        .enumerate()
        .map(|(j, floor)| {
            fundamentals
                .iter()
                .enumerate()
                .map(|(i, &f)| match (raw[j][i], smoothed[j][i]) {
                    (Some(hk), Some(hk_sm2)) => {
                        floor
                            .as_ref()
                            .is_none_or(|fl| hk_sm2 >= (NOISE_GATE * fl[i]).powi(2))
                            && hk >= RESOLUTION * h1(f).max(1e-300)
                    }
                    _ => false,
                })
                .collect()
        })
        .collect();
    let compact = compactness(
        h,
        peak_pos,
        lfs,
        &windows,
        &fundamentals,
        &raw,
        &above,
        sample_rate,
        fft,
    );
    let mut foreign_at = vec![false; fundamentals.len()];
    let (passes, foreign): (Vec<Vec<bool>>, Vec<Vec<bool>>) = above
        .iter()
        .zip(&compact)
        .map(|(above, compact)| {
            let each: Vec<bool> = above.iter().zip(compact).map(|(a, c)| *a && *c).collect();
            let alien: Vec<bool> = above.iter().zip(compact).map(|(a, c)| *a && !*c).collect();
            (long_runs(&each, MIN_RUN), long_runs(&alien, MIN_RUN))
        })
        .unzip();
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
        let mut unseen = 0.0;
        let mut any = false;
        let mut row = Vec::with_capacity(windows.len());
        for j in 0..floors.len() {
            let Some(hk) = raw[j][i].filter(|_| passes[j][i]) else {
                // inside the band but not above its floor: it may be as large as the floor;
                // under a foreign product, as large as that
                if let Some(v) = raw[j][i]
                    && let Some(Some(fl)) = floors.get(j)
                {
                    unseen += if foreign[j][i] {
                        foreign_at[i] = true;
                        (v * v).max(fl[i] * fl[i])
                    } else {
                        fl[i] * fl[i]
                    };
                }
                row.push(None);
                continue;
            };
            {
                sum += hk * hk;
                any = true;
                row.push(Some(20.0 * (hk / h1f).max(1e-15).log10()));
            }
        }
        if any && unseen.sqrt() <= UNSEEN_SHARE * sum.sqrt() {
            freq_hz.push(f);
            percent.push(100.0 * sum.sqrt() / h1f);
            for (c, v) in curves.iter_mut().zip(row) {
                c.push(v);
            }
        }
    }
    let foreign_hz = fundamentals
        .iter()
        .zip(&foreign_at)
        .filter_map(|(&f, &x)| x.then_some(f))
        .collect();
    let thd = Thd {
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
    };
    Distortion { thd, foreign_hz }
}

/// What `distortion` measured.
pub struct Distortion {
    pub thd: Thd,
    /// Fundamentals where a window held, above its floor, a product that did not arrive as a
    /// harmonic (see `COMPACT_SHARE`): not counted as one, and no THD where it could hide one.
    pub foreign_hz: Vec<f64>,
}

/// Per window and fundamental: whether what the window holds at k·f arrives as the linear
/// response does at that frequency (`COMPACT_SHARE`), asked only where it stands above its
/// floor (elsewhere true), averaged over those points. Short windows come in rungs of
/// doubling half-width from `COMPACT_MIN_S` up to a quarter of the window's, each transformed
/// once, when first needed; where the rung needed is longer, the point counts as compact
/// (with a 4 s sweep from 1.25 kHz of k·f up, with a 10 s one from 310 Hz: an alias folds
/// back from high fundamentals).
#[allow(clippy::too_many_arguments)]
fn compactness(
    h: &[f64],
    peak_pos: f64,
    lfs: f64,
    windows: &[HarmonicWindow],
    fundamentals: &[f64],
    raw: &[Vec<Option<f64>>],
    above: &[Vec<bool>],
    sample_rate: f64,
    fft: &mut FftCache,
) -> Vec<Vec<bool>> {
    type Spectrum = (Vec<Complex64>, f64);
    let peak = peak_pos.round() as isize;
    let t0 = ((COMPACT_MIN_S * sample_rate).round() as isize).max(4);
    let spectrum = |fft: &mut FftCache, centre: isize, a: isize, b: isize, tl: usize, tr: usize| {
        let len = good_size(((b - a) as usize) * 2);
        let spec = fft.forward_owned(extract_window(h, centre, a, b, tl, tr, len), len);
        (spec, sample_rate / len as f64)
    };
    let short = |fft: &mut FftCache, centre: isize, r: usize| {
        let t = t0 << r;
        spectrum(fft, centre, -t, t, (t / 4) as usize, (t / 4) as usize)
    };
    let at = |s: &Spectrum, f: f64| magnitude_at(&s.0, s.1, f).powi(2);
    // rungs whose half-width stays within a quarter of the window's (-a, b): a longer one
    // could tell little from the whole window, and would cost as much to transform
    let rungs = |a: isize, b: isize| -> usize {
        let mut n = 0;
        while 4 * (t0 << n) <= (-a).min(b) {
            n += 1;
        }
        n
    };
    // the linear response in H2's window extent (the longest), and in each rung it needs
    let g2 = geometry(2, lfs);
    let mut lin_full: Option<Spectrum> = None;
    let mut lin_short: Vec<Option<Spectrum>> = vec![None; rungs(g2.a, g2.b)];
    let mut out = Vec::with_capacity(windows.len());
    for ((w, raw), above) in windows.iter().zip(raw).zip(above) {
        let g = geometry(w.order, lfs);
        let centre = (peak_pos + g.centre).round() as isize;
        let mut own: Vec<Option<Spectrum>> = vec![None; rungs(g.a, g.b).min(lin_short.len())];
        // per point above its floor: (f, harmonic short, harmonic full, linear short, linear full)
        let mut pts: Vec<(f64, f64, f64, f64, f64)> = Vec::new();
        for ((&f, v), _) in fundamentals.iter().zip(raw).zip(above).filter(|(_, a)| **a) {
            let Some(v) = *v else { continue };
            let fk = w.order as f64 * f;
            let need = (COMPACT_CYCLES / fk * sample_rate).max(t0 as f64);
            let r = (need / t0 as f64).log2().ceil().max(0.0) as usize;
            let lf = lin_full
                .get_or_insert_with(|| spectrum(fft, peak, g2.a, g2.b, g2.taper.0, g2.taper.1));
            let lf = at(lf, fk);
            if r >= own.len() {
                // the short window would be the whole one: both shares are 1
                pts.push((f, v * v, v * v, lf, lf));
                continue;
            }
            let hs = own[r].get_or_insert_with(|| short(fft, centre, r));
            let hs = at(hs, fk);
            let ls = lin_short[r].get_or_insert_with(|| short(fft, peak, r));
            pts.push((f, hs, v * v, at(ls, fk), lf));
        }
        let fx: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let sm = |sel: fn(&(f64, f64, f64, f64, f64)) -> f64| {
            let y: Vec<f64> = pts.iter().map(sel).collect();
            smooth_power(&fx, &y, &fx, HARMONIC_SMOOTHING)
        };
        let (hs, hf, ls, lf) = (sm(|p| p.1), sm(|p| p.2), sm(|p| p.3), sm(|p| p.4));
        let mut it = (0..fx.len()).map(|i| hs[i] * lf[i] >= COMPACT_SHARE * hf[i] * ls[i]);
        out.push(
            raw.iter()
                .zip(above)
                .map(|(v, a)| !(*a && v.is_some()) || it.next().unwrap_or(true))
                .collect(),
        );
    }
    out
}

/// |X(f)| of a spectrum with bins `df` apart, interpolated linearly between its bins.
fn magnitude_at(spec: &[Complex64], df: f64, f: f64) -> f64 {
    let x = f / df;
    let k = (x.floor() as usize).min(spec.len() - 2);
    let t = x - k as f64;
    spec[k].norm() * (1.0 - t) + spec[k + 1].norm() * t
}

/// `each` with every run of `true` shorter than `min` set to `false`.
fn long_runs(each: &[bool], min: usize) -> Vec<bool> {
    let mut out = vec![false; each.len()];
    let mut i = 0;
    while i < each.len() {
        if !each[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < each.len() && each[i] {
            i += 1;
        }
        if i - start >= min {
            out[start..i].iter_mut().for_each(|v| *v = true);
        }
    }
    out
}

struct HarmonicWindow {
    order: usize,
    spec: Vec<Complex64>,
    df: f64,
    /// Bin frequencies and the noise power of the same window over a noise-only stretch.
    floor: Option<(Vec<f64>, Vec<f64>)>,
}
