//! Faults in a capture, located in time: dropouts (runs of digital silence), gain steps (an
//! AGC acting mid-sweep) and losses of sync (missing or inserted samples, glitches).
//!
//! The capture is compared block by block (10 ms) with its prediction: the stimulus filtered
//! by the measured linear response. For a healthy linear device the block gain
//! 10·log10(E_capture/E_prediction) is flat and the residual small; a step in the gain is a
//! gain change and a local burst of the residual is a glitch. (A gain step also shows as a
//! step in the raw response, which `find_gain_step` finds.)

/// Block length of the comparison, s.
const BLOCK_S: f64 = 0.01;
/// A run of exact zeros at least this long inside the sweep is a dropout.
const MIN_ZERO_RUN: usize = 8;

/// Looks for faults in `capture_raw` (as recorded) against `prediction` (same timeline) over
/// `[from, to)` samples; returns warnings that name the time in the capture.
pub fn find_faults(
    capture_raw: &[f64],
    prediction: &[f64],
    from: usize,
    to: usize,
    sample_rate: f64,
) -> Vec<String> {
    let to = to.min(capture_raw.len()).min(prediction.len());
    let mut out = Vec::new();
    if to <= from {
        return out;
    }
    let t = |i: usize| i as f64 / sample_rate;

    // 1. dropouts: runs of exact zeros where the prediction says there is signal
    let p_peak = prediction[from..to]
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let mut i = from;
    let mut dropouts = 0;
    while i < to {
        if capture_raw[i] == 0.0 {
            let start = i;
            while i < to && capture_raw[i] == 0.0 {
                i += 1;
            }
            let len = i - start;
            let p_max = prediction[start..i]
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            if len >= MIN_ZERO_RUN && p_max > 0.01 * p_peak {
                dropouts += 1;
                if dropouts <= 5 {
                    out.push(format!(
                        "dropout at {:.3} s in the capture: {len} samples ({:.1} ms) of digital silence during the sweep; measure again",
                        t(start),
                        len as f64 / sample_rate * 1e3
                    ));
                }
            }
        } else {
            i += 1;
        }
    }
    if dropouts > 5 {
        out.push(format!("{} more dropouts", dropouts - 5));
    }

    // 2. block gain and residual
    let block = ((BLOCK_S * sample_rate) as usize).max(16);
    let mut blocks = Vec::new();
    let mut b = from;
    while b + block <= to {
        let (mut ey, mut ep, mut er) = (0.0, 0.0, 0.0);
        for k in b..b + block {
            let (y, p) = (capture_raw[k], prediction[k]);
            ey += y * y;
            ep += p * p;
            er += (y - p) * (y - p);
        }
        blocks.push((b, ey, ep, er));
        b += block;
    }
    // energies are referred to a ±3-block (70 ms) average, so that blocks shorter than a
    // period of the sweep's low frequencies do not read the signal's zero crossings as faults
    let avg = |i: usize, pick: fn(&(usize, f64, f64, f64)) -> f64| {
        let (a, b) = (i.saturating_sub(3), (i + 4).min(blocks.len()));
        blocks[a..b].iter().map(pick).sum::<f64>() / (b - a) as f64
    };
    let ep_max = blocks.iter().map(|x| x.2).fold(0.0f64, f64::max);
    let live: Vec<(usize, f64, f64)> = (0..blocks.len())
        .filter(|&i| blocks[i].2 > ep_max * 1e-2)
        .map(|i| {
            let ep = avg(i, |x| x.2);
            (
                blocks[i].0,
                10.0 * (avg(i, |x| x.1).max(1e-30) / ep).log10(),
                10.0 * (blocks[i].3.max(1e-30) / ep).log10(),
            )
        })
        .collect();
    if live.len() < 20 {
        return out;
    }
    // gain step: the largest difference between the medians of 10 blocks before and after
    let k = 10;
    let mut best = (0.0f64, 0usize);
    for i in k..live.len() - k {
        let d =
            median(live[i..i + k].iter().map(|x| x.1)) - median(live[i - k..i].iter().map(|x| x.1));
        if d.abs() > best.0.abs() {
            best = (d, i);
        }
    }
    if best.0.abs() >= 1.0 {
        out.push(format!(
            "gain change of {:+.1} dB at {:.3} s in the capture (an AGC or a level change mid-sweep); disable automatic gain control and measure again",
            best.0,
            t(live[best.1].0)
        ));
        return out;
    }
    // glitches: a residual far above what the capture shows around it. Distortion and noise
    // change slowly along the sweep; a click or a burst of interference stands out locally.
    let mut flagged = Vec::new();
    for i in 0..live.len() {
        let (a, b) = (i.saturating_sub(20), (i + 21).min(live.len()));
        let local = median(live[a..b].iter().map(|x| x.2));
        if live[i].2 > (local + 15.0).max(-20.0) {
            flagged.push(i);
        }
    }
    if let Some(&first) = flagged.first()
        && dropouts == 0
    {
        out.push(format!(
            "glitch at {:.3} s in the capture: {} block(s) of 10 ms depart from a linear response (click, dropout or interference); measure again",
            t(live[first].0),
            flagged.len()
        ));
    }
    out
}

fn median(it: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = it.collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A sweep maps time to frequency, so a gain that changes mid-sweep (an AGC) looks like a
/// step in the raw response: a change of level over a few hundredths of an octave with flat
/// response on both sides, which no transducer or filter produces. Returns (frequency, step
/// in dB) of the largest such step between `lo_hz` and `hi_hz`, if any.
pub fn find_gain_step(
    freq_hz: &[f64],
    gain_db: &[f64],
    lo_hz: f64,
    hi_hz: f64,
) -> Option<(f64, f64)> {
    // spans of 1/6 octave (at 96 points per octave) either side of a 1/6-octave transition
    // (a step in time spreads over about 0.1 octave, with Gibbs ripple around it)
    const GAP: usize = 8;
    const SPAN: usize = 16;
    let n = freq_hz.len();
    if n < 2 * (GAP + SPAN) + 1 {
        return None;
    }
    let spread = |s: &[f64]| {
        s.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b))
            - s.iter().fold(f64::INFINITY, |a, &b| a.min(b))
    };
    let mut best: Option<(f64, f64)> = None;
    for i in GAP + SPAN..n - GAP - SPAN {
        if freq_hz[i] < lo_hz || freq_hz[i] > hi_hz {
            continue;
        }
        let left = &gain_db[i - GAP - SPAN..i - GAP];
        let right = &gain_db[i + GAP + 1..=i + GAP + SPAN];
        let step = median(right.iter().copied()) - median(left.iter().copied());
        // a smooth slope spreads each span by half the step; a step leaves both spans flat
        if step.abs() >= 1.5
            && spread(left) <= 0.3 * step.abs()
            && spread(right) <= 0.3 * step.abs()
            && best.is_none_or(|b| step.abs() > b.1.abs())
        {
            // locate the step where the response crosses halfway between the two levels, and
            // measure how sharp it is: from 20 % to 80 % of the step within 0.1 octave (a step
            // in time) — filters and resonance flanks that shift the level are wider
            let lvl = median(left.iter().copied());
            let cross = |frac: f64| -> Option<f64> {
                let target = lvl + frac * step;
                let mut found: Option<(usize, f64)> = None;
                for j in i - GAP..i + GAP {
                    let (a, b) = (gain_db[j] - target, gain_db[j + 1] - target);
                    if a * b <= 0.0 && a != b && found.is_none_or(|(d, _)| j.abs_diff(i) < d) {
                        let t = a / (a - b);
                        found = Some((
                            j.abs_diff(i),
                            (freq_hz[j] * (freq_hz[j + 1] / freq_hz[j]).powf(t)).log2(),
                        ));
                    }
                }
                found.map(|(_, l)| l)
            };
            let (Some(l20), Some(l50), Some(l80)) = (cross(0.2), cross(0.5), cross(0.8)) else {
                continue;
            };
            if (l80 - l20).abs() > 0.1 {
                continue;
            }
            let at = 2f64.powf(l50);
            best = Some((at, step));
        }
    }
    best
}
