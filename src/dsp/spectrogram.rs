//! Spectrogram of a capture: the level in fractional-octave bands over time (Hann-windowed
//! frames, 50 % overlap or more), in dBFS where a full-scale sine reads 0 dBFS (AES17). It
//! shows at a glance what went wrong in a capture: a dropout (a column at the floor), hum (a
//! line across), a late start (the sweep's ridge shifted). Pure.

use std::f64::consts::PI;

use super::fft::FftCache;
use crate::results::Spectrogram;

/// Levels over time and frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// Each frame's centre, s from the capture's first sample.
    pub time_s: Vec<f64>,
    /// Band centres (geometric), Hz; band `i` spans `edges_hz[i]..edges_hz[i + 1]`.
    pub freq_hz: Vec<f64>,
    pub edges_hz: Vec<f64>,
    /// `level_dbfs[frame][band]`; −∞ where the frame is digital silence in the band.
    pub level_dbfs: Vec<Vec<f64>>,
}

/// The spectrogram of `x` (at `fs`) in `1/per_octave`-octave bands from `lo_hz` up to
/// `hi_hz` (and below fs/2), with frames of `frame_len` samples (a power of two) and at most
/// `max_frames` frames (the hop grows for long captures, never beyond half a frame).
pub fn spectrogram(
    x: &[f64],
    fs: f64,
    frame_len: usize,
    max_frames: usize,
    (lo_hz, hi_hz, per_octave): (f64, f64, f64),
    fft: &mut FftCache,
) -> Bands {
    let l = frame_len;
    let hi_hz = hi_hz.min(0.5 * fs);
    let mut edges_hz = vec![lo_hz];
    while *edges_hz.last().unwrap_or(&hi_hz) * 2f64.powf(1.0 / per_octave) <= hi_hz * 1.000_001 {
        let e = edges_hz[edges_hz.len() - 1] * 2f64.powf(1.0 / per_octave);
        edges_hz.push(e);
    }
    let freq_hz: Vec<f64> = edges_hz.windows(2).map(|w| (w[0] * w[1]).sqrt()).collect();
    if x.len() < l || freq_hz.is_empty() || max_frames == 0 {
        return Bands {
            time_s: Vec::new(),
            freq_hz,
            edges_hz,
            level_dbfs: Vec::new(),
        };
    }
    let window: Vec<f64> = (0..l)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / l as f64).cos())
        .collect();
    let wsum2: f64 = window.iter().map(|w| w * w).sum();
    // per-bin mean square: Parseval over the one-sided spectrum, the window's power removed
    let scale = 2.0 / (l as f64 * wsum2);
    let df = fs / l as f64;
    // each band's bins with the share of each bin's width inside the band
    let weights: Vec<Vec<(usize, f64)>> = edges_hz
        .windows(2)
        .map(|e| {
            let (a, b) = (e[0] / df, e[1] / df);
            let first = (a - 0.5).floor().max(1.0) as usize;
            let last = ((b + 0.5).ceil() as usize).min(l / 2 - 1);
            (first..=last)
                .filter_map(|k| {
                    let (k0, k1) = (k as f64 - 0.5, k as f64 + 0.5);
                    let w = (b.min(k1) - a.max(k0)).max(0.0);
                    (w > 0.0).then_some((k, w))
                })
                .collect()
        })
        .collect();
    let frames_fit = (x.len() - l) / (l / 2) + 1;
    let count = frames_fit.min(max_frames).max(1);
    let hop = if count > 1 {
        ((x.len() - l) as f64 / (count - 1) as f64).max(1.0)
    } else {
        0.0
    };
    let mut time_s = Vec::with_capacity(count);
    let mut level_dbfs = Vec::with_capacity(count);
    let mut frame = vec![0.0; l];
    for j in 0..count {
        let start = ((j as f64 * hop).round() as usize).min(x.len() - l);
        let seg = &x[start..start + l];
        let mean = seg.iter().sum::<f64>() / l as f64;
        for ((d, s), w) in frame.iter_mut().zip(seg).zip(&window) {
            *d = (s - mean) * w;
        }
        let spec = fft.forward(&frame, l);
        let row = weights
            .iter()
            .map(|ws| {
                let ms: f64 = ws.iter().map(|&(k, w)| spec[k].norm_sqr() * w).sum::<f64>() * scale;
                10.0 * (2.0 * ms).log10()
            })
            .collect();
        time_s.push((start as f64 + l as f64 / 2.0) / fs);
        level_dbfs.push(row);
    }
    Bands {
        time_s,
        freq_hz,
        edges_hz,
        level_dbfs,
    }
}

/// The capture's spectrogram as stored: 1/6-octave bands up to 20 kHz (below fs/2), frames
/// of about 85 ms (a power of two), at most 200 of them; levels to 0.1 dB. The bands start
/// where one is at least a bin wide (about 100 Hz): a narrower band would only show a
/// share of its neighbours' bin.
pub fn capture_spectrogram(raw: &[f64], fs: f64, fft: &mut FftCache) -> Option<Spectrogram> {
    let frame = ((fs / 12.0) as usize).next_power_of_two();
    let bin_hz = fs / frame as f64;
    // a 1/6-octave band is 0.1157·f wide
    let lo = 20f64.max(bin_hz / (2f64.powf(1.0 / 12.0) - 2f64.powf(-1.0 / 12.0)));
    let b = spectrogram(raw, fs, frame, 200, (lo, 20000.0, 6.0), fft);
    (!b.time_s.is_empty()).then(|| Spectrogram {
        time_s: b.time_s,
        freq_hz: b.freq_hz,
        level_dbfs: b
            .level_dbfs
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| v.is_finite().then(|| (v * 10.0).round() / 10.0))
                    .collect()
            })
            .collect(),
        frame_s: frame as f64 / fs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sine of amplitude A reads 20·log10(A) dBFS in the band that holds it (AES17), to
    /// 0.05 dB when the Hann window's main lobe (±2 bins of 5.9 Hz) lies inside the band
    /// (here at its centre, 959 Hz, 1/6 octave = 111 Hz wide), and the band an octave up
    /// reads more than 60 dB lower.
    #[test]
    fn a_sine_reads_its_level_in_its_band() {
        let fs = 48000.0;
        let a = 0.25;
        let mut fft = FftCache::new();
        let probe = spectrogram(&[0.0; 8192], fs, 8192, 1, (20.0, 20000.0, 6.0), &mut fft);
        let i = probe.freq_hz.iter().position(|&f| f > 900.0).unwrap();
        let f0 = probe.freq_hz[i];
        let x: Vec<f64> = (0..96000)
            .map(|n| a * (2.0 * PI * f0 * n as f64 / fs).sin())
            .collect();
        let b = spectrogram(&x, fs, 8192, 10, (20.0, 20000.0, 6.0), &mut fft);
        assert_eq!(b.time_s.len(), 10);
        let want = 20.0 * a.log10();
        let j = b.freq_hz.iter().position(|&f| f > 2.0 * f0).unwrap();
        for row in &b.level_dbfs {
            assert!((row[i] - want).abs() < 0.05, "{} vs {want}", row[i]);
            assert!(row[j] < want - 60.0, "an octave up: {}", row[j]);
        }
    }

    /// A dropout (a stretch of zeros) reads −∞ in the frames wholly inside it; a sweep's
    /// ridge lies in the band of its instantaneous frequency at each frame's centre.
    #[test]
    fn a_dropout_and_a_sweep_show_where_they_are() {
        let fs = 48000.0;
        let (f1, f2, t): (f64, f64, f64) = (100.0, 10000.0, 4.0);
        let l = t / (f2 / f1).ln();
        let mut x: Vec<f64> = (0..(t * fs) as usize)
            .map(|i| {
                let tt = i as f64 / fs;
                0.5 * (2.0 * PI * f1 * l * ((tt / l).exp() - 1.0)).sin()
            })
            .collect();
        // 0.2 s of dropout from 2.0 s
        x[96000..105600].iter_mut().for_each(|v| *v = 0.0);
        let mut fft = FftCache::new();
        let b = spectrogram(&x, fs, 1024, 400, (50.0, 20000.0, 6.0), &mut fft);
        let half = 512.0 / fs;
        for (j, &tc) in b.time_s.iter().enumerate() {
            let row = &b.level_dbfs[j];
            if tc - half >= 2.0 && tc + half <= 2.2 {
                assert!(
                    row.iter().all(|v| *v == f64::NEG_INFINITY),
                    "frame at {tc} s"
                );
                continue;
            }
            if tc - half < 2.0 && tc + half > 2.0 || tc - half < 2.2 && tc + half > 2.2 {
                continue; // frames across the dropout's edges
            }
            let f = f1 * (tc / l).exp();
            // where a band is at least 4 bins (47 Hz) wide
            if !(1600.0..8000.0).contains(&f) {
                continue;
            }
            let loudest = (0..row.len())
                .max_by(|&p, &q| row[p].total_cmp(&row[q]))
                .unwrap();
            let (lo, hi) = (b.edges_hz[loudest], b.edges_hz[loudest + 1]);
            // the sweep moves up to 0.035 octave during a 21 ms frame: it is in the band, or
            // within 0.04 octave of its edge
            let edge = 2f64.powf(0.04);
            assert!(
                f >= lo / edge && f <= hi * edge,
                "at {tc:.3} s the sweep is at {f:.0} Hz, the loudest band {lo:.0}–{hi:.0} Hz"
            );
        }
    }
}
