//! The level of an acoustic calibrator's tone (94 or 114 dB SPL at 1 kHz, IEC 60942) in a
//! recording, for `sweeplab calibrate`: the power within ±1/3 octave of the tone (a Hann-
//! windowed spectrum of the steady middle of the recording), as an AES17 level (a full-scale
//! sine reads 0 dBFS). The recording must be a steady tone: its frequency 1 kHz ± 5 %, at least
//! 90 % of its power near the tone, its level steady within 0.5 dB over its middle, unclipped.

use super::fft::FftCache;
use super::noise::dbfs_from_power;

/// What was found in a calibrator recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneLevel {
    /// The tone's level, AES17 dBFS.
    pub level_dbfs: f64,
    /// Its frequency (the spectrum's peak, refined by parabolic interpolation), Hz.
    pub freq_hz: f64,
    /// Share of the recording's power within ±1/3 octave of the tone.
    pub purity: f64,
    /// Largest difference between the levels of four equal blocks of the middle, dB.
    pub steadiness_db: f64,
}

/// Finds the calibrator tone in `x` (one channel, sample rate `fs`); an error says what is
/// wrong with the recording.
pub fn calibrator_level(x: &[f64], fs: f64) -> Result<ToneLevel, String> {
    let n_all = x.len();
    if (n_all as f64) < 2.0 * fs {
        return Err(format!(
            "holds {:.2} s; record the calibrator for at least 2 s (5 s or more is better)",
            n_all as f64 / fs
        ));
    }
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak >= 0.999 {
        return Err(
            "is clipped (the tone reaches full scale): lower the input gain and record again"
                .into(),
        );
    }
    // the middle 80 %: the calibrator settles after it is put on, and comes off at the end
    let mid = &x[n_all / 10..n_all - n_all / 10];
    let n = mid.len();
    let mean = mid.iter().sum::<f64>() / n as f64;
    // Hann window: its power gain is 3/8, applied to the band power below
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let s = (std::f64::consts::PI * i as f64 / n as f64).sin();
            (mid[i] - mean) * s * s
        })
        .collect();
    let spec = FftCache::new().forward_owned(w, n);
    let df = fs / n as f64;
    let power: Vec<f64> = spec.iter().map(|c| c.norm_sqr()).collect();
    let bin = |f: f64| ((f / df).round() as usize).min(power.len() - 1);
    let (k, _) = power[bin(500.0)..=bin(2000.0)]
        .iter()
        .enumerate()
        .fold((0, 0.0), |a, (i, &p)| if p > a.1 { (i, p) } else { a });
    let k = k + bin(500.0);
    // parabolic interpolation on the log power of the peak and its neighbours
    let freq_hz = if k > 0 && k + 1 < power.len() {
        let (a, b, c) = (power[k - 1].ln(), power[k].ln(), power[k + 1].ln());
        let d = 0.5 * (a - c) / (a - 2.0 * b + c);
        (k as f64 + if d.is_finite() { d } else { 0.0 }) * df
    } else {
        k as f64 * df
    };
    if !(950.0..=1050.0).contains(&freq_hz) {
        return Err(format!(
            "holds its strongest tone at {freq_hz:.0} Hz, not 1 kHz: record an acoustic calibrator's 1 kHz tone"
        ));
    }
    let third = 2f64.powf(1.0 / 3.0);
    let band: f64 = power[bin(freq_hz / third)..=bin(freq_hz * third)]
        .iter()
        .sum();
    let total: f64 = power[1..].iter().sum();
    let purity = band / total;
    if purity < 0.9 {
        return Err(format!(
            "is not a clean tone: only {:.0} % of its power is within 1/3 octave of {freq_hz:.0} Hz (noise or a second sound); record the calibrator again in a quiet room",
            purity * 100.0
        ));
    }
    // one-sided spectrum: bins other than DC and Nyquist carry twice their power; Parseval
    // gives the windowed signal's mean square, the Hann window's 3/8 undoes the window
    let mean_square = 2.0 * band / (n as f64 * n as f64) / 0.375;
    let level_dbfs = dbfs_from_power(mean_square);
    // steadiness: four blocks of the middle (a tone of 1 kHz has whole periods enough in each)
    let block = n / 4;
    let levels: Vec<f64> = (0..4)
        .map(|b| {
            let s = &mid[b * block..(b + 1) * block];
            let m = s.iter().sum::<f64>() / block as f64;
            dbfs_from_power(s.iter().map(|v| (v - m).powi(2)).sum::<f64>() / block as f64)
        })
        .collect();
    let steadiness_db = levels.iter().cloned().fold(f64::MIN, f64::max)
        - levels.iter().cloned().fold(f64::MAX, f64::min);
    if steadiness_db > 0.5 {
        return Err(format!(
            "changes level by {steadiness_db:.1} dB during the recording: hold the calibrator steady on the microphone and record again"
        ));
    }
    Ok(ToneLevel {
        level_dbfs,
        freq_hz,
        purity,
        steadiness_db,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(fs: f64, secs: f64, f: f64, amp: f64) -> Vec<f64> {
        (0..(fs * secs) as usize)
            .map(|i| amp * (2.0 * std::f64::consts::PI * f * i as f64 / fs + 0.3).sin())
            .collect()
    }

    /// A sine of peak A reads 20·log10(A) dBFS (AES17), whatever its frequency within the
    /// calibrators' ±5 % and with a little noise (tolerance 0.01 dB).
    #[test]
    fn a_sine_reads_its_aes17_level() {
        let fs = 48000.0;
        for (f, amp) in [(1000.0, 0.1), (997.3, 0.5), (1012.0, 0.02)] {
            let mut x = tone(fs, 5.0, f, amp);
            // deterministic noise 60 dB below the tone
            let mut s = 1u64;
            for v in &mut x {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *v += amp * 1e-3 * (((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0);
            }
            let t = calibrator_level(&x, fs).unwrap();
            let truth = 20.0 * amp.log10();
            assert!(
                (t.level_dbfs - truth).abs() < 0.01,
                "{f} Hz: {} vs {truth}",
                t.level_dbfs
            );
            assert!((t.freq_hz - f).abs() < 0.5, "{} vs {f}", t.freq_hz);
        }
    }

    #[test]
    fn what_is_not_a_calibrator_tone_is_refused() {
        let fs = 48000.0;
        assert!(
            calibrator_level(&tone(fs, 1.0, 1000.0, 0.1), fs)
                .unwrap_err()
                .contains("at least 2 s")
        );
        assert!(
            calibrator_level(&tone(fs, 3.0, 250.0, 0.1), fs)
                .unwrap_err()
                .contains("not 1 kHz")
        );
        assert!(
            calibrator_level(&tone(fs, 3.0, 1000.0, 1.0), fs)
                .unwrap_err()
                .contains("clipped")
        );
        let mut two = tone(fs, 3.0, 1000.0, 0.1);
        for (v, w) in two.iter_mut().zip(tone(fs, 3.0, 3000.0, 0.08)) {
            *v += w;
        }
        assert!(
            calibrator_level(&two, fs)
                .unwrap_err()
                .contains("not a clean tone")
        );
        let mut ramp = tone(fs, 4.0, 1000.0, 0.1);
        let n = ramp.len() as f64;
        for (i, v) in ramp.iter_mut().enumerate() {
            *v *= 1.0 + i as f64 / n; // rises by 6 dB
        }
        assert!(
            calibrator_level(&ramp, fs)
                .unwrap_err()
                .contains("changes level")
        );
    }
}
