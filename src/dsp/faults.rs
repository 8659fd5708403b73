//! Faults in a capture, located in time: dropouts (runs of digital silence), gain steps (an
//! AGC acting mid-sweep) and losses of sync (missing or inserted samples, glitches).
//!
//! The capture is compared block by block (10 ms) with its prediction: the stimulus filtered
//! by the measured linear response. For a healthy linear device the block gain
//! 10·log10(E_capture/E_prediction) is flat and the residual small; a step in the gain is a
//! gain change and a local burst of the residual is a glitch. (A gain step also shows as a
//! step in the raw response, which `find_gain_step` finds.)

use super::sweep::SweepLayout;
use crate::results::Thd;

/// What the analysis measured of a channel that the fault checks read.
pub struct Measured<'a> {
    /// The response: frequencies, gain and unwrapped phase (radians).
    pub grid_hz: &'a [f64],
    pub gain_db: &'a [f64],
    pub phase_unwrapped: &'a [f64],
    pub thd: &'a Thd,
    /// The noise floor before the sweep, if measured.
    pub noise_rms_dbfs: Option<f64>,
}

/// Warnings for the faults in channel `index` of a capture (`raw`, with `clipped` samples at
/// full scale) whose sweep arrives at sample `arrival`: the capture against its `prediction`
/// where the sweep is well inside the measured `band` (2 × its start … its end ÷ 1.25),
/// a gain step in the response, and flat tops below full scale; and the `dropouts` the
/// analysis found over the whole sweep ([`dropouts`]).
#[allow(clippy::too_many_arguments)]
pub fn capture_faults(
    raw: &[f64],
    prediction: &[f64],
    lay: &SweepLayout,
    arrival: f64,
    band: (f64, f64),
    index: usize,
    clipped: usize,
    m: &Measured,
    dropouts: &[(usize, usize)],
) -> Vec<String> {
    let fs = lay.sample_rate as f64;
    let sweep_len = (lay.sweep_end_sample - lay.sweep_first_sample) as f64;
    let from = (arrival + lay.time_of(2.0 * band.0) * fs).max(0.0) as usize;
    let to = (arrival + lay.time_of(band.1 / 1.25) * fs).max(0.0) as usize;
    // a capture cut short (disk full, device lost) ends abruptly: leave its last 0.1 s out
    let to = to.min(raw.len().saturating_sub((0.1 * fs) as usize));
    let freq_at = |i: usize| {
        let t = (i as f64 - arrival) / fs;
        (t >= 0.0 && t * fs < sweep_len).then(|| lay.frequency_at(t))
    };
    let noise_ms = m.noise_rms_dbfs.map(|n| 10f64.powf(n / 10.0) / 2.0);
    // the distortion expected there: the median THD over ±1/3 octave (a glitch itself
    // lands in the harmonic windows as a narrow spike of THD at its own frequency, which
    // the median ignores)
    let distortion_db = |i: usize| -> Option<f64> {
        let f = freq_at(i)?;
        let third = 2f64.powf(1.0 / 3.0);
        let (a, b) = (
            m.thd.freq_hz.partition_point(|&g| g < f / third),
            m.thd.freq_hz.partition_point(|&g| g <= f * third),
        );
        let mut v: Vec<f64> = m.thd.percent[a..b].to_vec();
        if v.len() < 8 {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(20.0 * (v[v.len() / 2] / 100.0).max(1e-9).log10())
    };
    let mut warnings = find_faults(
        raw,
        prediction,
        from,
        to,
        fs,
        &freq_at,
        noise_ms,
        &distortion_db,
        dropouts,
    );
    if let Some((f, step)) = find_gain_step(
        m.grid_hz,
        m.gain_db,
        m.phase_unwrapped,
        band.0 * 2.0,
        band.1 / 1.25,
    ) {
        let t = (arrival / fs + lay.time_of(f)).max(0.0);
        warnings.push(format!(
            "gain change of {step:+.1} dB at {t:.3} s in the capture (the response steps at {f:.0} Hz, where the sweep was then, with no phase turn that a filter would cause): an AGC or a level change mid-sweep; disable automatic gain control and measure again"
        ));
    }
    if clipped == 0 {
        let tolerance = m
            .noise_rms_dbfs
            .map_or(0.0, |n| 4.0 * 10f64.powf(n / 20.0) / 2f64.sqrt());
        if let Some((count, level, first)) = find_flat_tops(raw, tolerance, fs, &freq_at) {
            warnings.push(format!(
                "clipping below full scale: {count} flat tops at {:.1} dBFS in channel {index}, the first at {:.3} s (an analog stage or a limiter clips before the converter); lower the output level or the input gain and measure again",
                20.0 * level.log10(),
                first as f64 / fs
            ));
        }
    }
    warnings
}

/// Runs of capture samples, `[start, end)`.
pub type Runs = Vec<(usize, usize)>;

/// Block length of the comparison, s.
const BLOCK_S: f64 = 0.01;
/// A run of exact zeros at least this long inside the sweep is a dropout.
const MIN_ZERO_RUN: usize = 8;

/// The runs `[start, end)` of at least `MIN_ZERO_RUN` (8) exact zeros in `raw[from..to]`: the
/// candidates for a dropout (a scan of the samples only, so that the caller needs a
/// prediction only when there is one).
pub fn zero_runs(raw: &[f64], from: usize, to: usize) -> Vec<(usize, usize)> {
    let to = to.min(raw.len());
    let mut runs = Vec::new();
    let mut i = from;
    while i < to {
        if raw[i] == 0.0 {
            let start = i;
            while i < to && raw[i] == 0.0 {
                i += 1;
            }
            if i - start >= MIN_ZERO_RUN {
                runs.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    runs
}

/// The warnings for `dropouts` (capture samples, half-open): the first five with their time
/// and length, then how many more.
pub fn dropout_warnings(dropouts: &[(usize, usize)], sample_rate: f64) -> Vec<String> {
    let mut out: Vec<String> = dropouts
        .iter()
        .take(5)
        .map(|&(start, end)| {
            format!(
                "dropout at {:.3} s in the capture: {} samples ({:.1} ms) of digital silence during the sweep; measure again",
                start as f64 / sample_rate,
                end - start,
                (end - start) as f64 / sample_rate * 1e3
            )
        })
        .collect();
    if dropouts.len() > 5 {
        out.push(format!("{} more dropouts", dropouts.len() - 5));
    }
    out
}

/// The dropouts among `runs` (from [`zero_runs`]): runs of digital silence inside signal.
/// A quiet capture in few bits rounds the sweep to zero around each zero crossing: a sine of
/// A steps (A times the least non-zero magnitude in the capture) at frequency f stays within
/// half a step of zero for fs/(2π·f·A) samples. A run is a dropout when it lasts over three
/// times that plus two samples, A read as the capture's peak just around it (a period of the
/// sweep's frequency each side): the same margin the flat tops use. A float capture's step
/// is tiny: any run of 8 is one.
pub fn dropouts(
    raw: &[f64],
    runs: &[(usize, usize)],
    sample_rate: f64,
    freq_at: &dyn Fn(usize) -> Option<f64>,
) -> Vec<(usize, usize)> {
    if runs.is_empty() {
        return Vec::new();
    }
    let step = raw
        .iter()
        .map(|v| v.abs())
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    runs.iter()
        .copied()
        .filter(|&(a, b)| {
            let Some(f) = freq_at(a) else {
                return false;
            };
            let steps = around(raw, (a, b), sample_rate, f) / step;
            let natural = sample_rate / (2.0 * std::f64::consts::PI * f.max(1.0) * steps);
            (b - a) as f64 > 3.0 * natural + 2.0
        })
        .collect()
}

/// The capture's peak magnitude just around the run `[a, b)`: a period of `freq_hz` (the
/// sweep's frequency there) each side, at least 1 ms and at most 0.1 s (wider, it reads a
/// gate's closing by the louder sweep before it).
fn around(raw: &[f64], (a, b): (usize, usize), sample_rate: f64, freq_hz: f64) -> f64 {
    let peak = |a: usize, b: usize| {
        raw[a.min(raw.len())..b.min(raw.len())]
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
    };
    let period = sample_rate / freq_hz.max(1.0);
    let w = period.clamp(1e-3 * sample_rate, 0.1 * sample_rate) as usize;
    peak(a.saturating_sub(w), a).max(peak(b, b + w))
}

/// The `runs` of digital silence (from [`dropouts`]) split into those inside loud signal,
/// within 20 dB of the capture's peak over `span` (a dropout: the capture lost what it was
/// recording, a fault), and those where it was already quiet (a noise gate closing on a part
/// of the sweep the device hardly passes: no fault, though the points it changes are not
/// measured either).
pub fn loud_and_quiet(
    raw: &[f64],
    runs: &[(usize, usize)],
    span: (usize, usize),
    sample_rate: f64,
    freq_at: &dyn Fn(usize) -> Option<f64>,
) -> (Runs, Runs) {
    let top = raw[span.0.min(raw.len())..span.1.min(raw.len())]
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    runs.iter().partition(|&&(a, b)| {
        freq_at(a).is_some_and(|f| around(raw, (a, b), sample_rate, f) >= 0.1 * top)
    })
}

/// Looks for faults in `capture_raw` (as recorded) against `prediction` (same timeline) over
/// `[from, to)` samples; returns warnings that name the time in the capture. `freq_at(i)`
/// is the sweep's instantaneous frequency at capture sample `i`: the residual is averaged
/// over a period of it either side, so that low frequencies, whose periods outlast a block,
/// are not judged by where their waveform happens to be. `noise_mean_square` is the
/// capture's noise (from the silence before the sweep), if known: a glitch must stand 15 dB
/// above it, so that a sweep rising out of the noise is not taken for one. `distortion_db(i)`
/// is the measured THD (dB re the fundamental) where the sweep is at capture sample `i`: the
/// residual a linear prediction leaves there, which a glitch must exceed by 6 dB too.
/// `dropouts` (from [`dropouts`]) are named first, and there is no glitch beside them.
#[allow(clippy::too_many_arguments)]
pub fn find_faults(
    capture_raw: &[f64],
    prediction: &[f64],
    from: usize,
    to: usize,
    sample_rate: f64,
    freq_at: &dyn Fn(usize) -> Option<f64>,
    noise_mean_square: Option<f64>,
    distortion_db: &dyn Fn(usize) -> Option<f64>,
    dropouts: &[(usize, usize)],
) -> Vec<String> {
    let to = to.min(capture_raw.len()).min(prediction.len());
    let mut out = Vec::new();
    let t = |i: usize| i as f64 / sample_rate;

    // 1. dropouts (found by the caller over the whole sweep: [`dropouts`])
    out.extend(dropout_warnings(dropouts, sample_rate));
    let dropouts = dropouts.len();

    if to <= from {
        return out;
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
    let period_blocks = |i: usize| -> usize {
        freq_at(blocks[i].0).map_or(0, |f| {
            ((sample_rate / f.max(1.0) / block as f64).floor() as usize).min(10)
        })
    };
    let noise_floor = noise_mean_square.map_or(0.0, |n| n * 10f64.powf(1.5));
    // blocks where the prediction stands clear of the noise (15 dB) and within 20 dB of the
    // loudest: elsewhere the capture/prediction ratio says more about the noise than the gain
    let live: Vec<(usize, f64, f64, bool)> = (0..blocks.len())
        .filter(|&i| blocks[i].2 > ep_max * 1e-2 && blocks[i].2 / block as f64 > noise_floor)
        .map(|i| {
            let ep = avg(i, |x| x.2);
            let k = period_blocks(i);
            let (a, b) = (i.saturating_sub(k), (i + k + 1).min(blocks.len()));
            let er = blocks[a..b].iter().map(|x| x.3).sum::<f64>() / (b - a) as f64;
            (
                blocks[i].0,
                10.0 * (avg(i, |x| x.1).max(1e-30) / ep).log10(),
                10.0 * (er.max(1e-30) / ep).log10(),
                er / block as f64 > noise_floor,
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
        let distortion = distortion_db(live[i].0).unwrap_or(f64::NEG_INFINITY);
        if live[i].3 && live[i].2 > (local + 15.0).max(distortion + 6.0).max(-20.0) {
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

/// Half-width of the neighbourhood in which a step's phase bump is measured, grid points
/// (1/3 octave at 96 points per octave).
const BUMP_HALF: usize = 32;
/// Half-width of the mean each point of the bump is read as, grid points (1/12 octave in all).
const BUMP_AVG: usize = 4;

/// Whether the measured phase around grid point `i` stays put where a minimum-phase step of
/// this magnitude would bend it: the bump (the phase at `i` minus the mean at ±1/3 octave,
/// which removes any delay) is under a third of the minimum-phase bump, computed from the
/// magnitude by Bode's gain–phase integral φ(u₀) = (1/π)∫ dA/du · ln coth(|u−u₀|/2) du
/// (u = ln f, A = ln|H|) over two octaves either side.
fn phase_stays_put(freq_hz: &[f64], gain_db: &[f64], phase_rad: &[f64], i: usize) -> bool {
    let n = freq_hz.len();
    if phase_rad.len() != n || i < BUMP_HALF + BUMP_AVG || i + BUMP_HALF + BUMP_AVG >= n {
        return false;
    }
    let span = 4 * BUMP_HALF * 3 / 2; // two octaves at 96 points per octave
    let (a, b) = (i.saturating_sub(span), (i + span).min(n - 1));
    let u: Vec<f64> = freq_hz.iter().map(|f| f.ln()).collect();
    let nep = |j: usize| gain_db[j] / 20.0 * std::f64::consts::LN_10;
    let min_phase = |j0: usize| -> f64 {
        let mut acc = 0.0;
        for j in a..b {
            let du = u[j + 1] - u[j];
            let slope = (nep(j + 1) - nep(j)) / du;
            let mid = 0.5 * (u[j] + u[j + 1]);
            let d = (mid - u[j0]).abs().max(1e-6);
            acc += slope * (1.0 / (d / 2.0).tanh()).ln() * du;
        }
        acc / std::f64::consts::PI
    };
    // each value a mean over ±BUMP_AVG points: an abrupt step in time rings (Gibbs) in the
    // measured phase around it, ±0.5 rad at a −10 dB step, which a mean evens out; a
    // minimum-phase bump is one-signed and stays
    let avg = |v: &dyn Fn(usize) -> f64, c: usize| -> f64 {
        (c - BUMP_AVG..=c + BUMP_AVG).map(v).sum::<f64>() / (2 * BUMP_AVG + 1) as f64
    };
    let bump = |v: &dyn Fn(usize) -> f64| {
        avg(v, i) - 0.5 * (avg(v, i - BUMP_HALF) + avg(v, i + BUMP_HALF))
    };
    let predicted = bump(&min_phase);
    let measured = bump(&|j| phase_rad[j]);
    // how much the measured phase wanders on its own away from the step (reflections, a
    // room): where it wanders as much as the bump it would need to show, it cannot tell a
    // filter from a gain change, and no step is claimed
    let wander = {
        let dev: Vec<f64> = (i - BUMP_HALF + 8..=i + BUMP_HALF - 8)
            .filter(|&j| j.abs_diff(i) >= 12)
            .map(|j| phase_rad[j] - 0.5 * (phase_rad[j - 8] + phase_rad[j + 8]))
            .collect();
        (dev.iter().map(|d| d * d).sum::<f64>() / dev.len().max(1) as f64).sqrt()
    };
    predicted.abs() > 0.2
        && measured.abs() < predicted.abs() / 3.0
        && wander < predicted.abs() / 3.0
}

/// Clipping below full scale: flat tops. Where the capture is clipped before the converter
/// (an analog stage, a limiter), the waveform's peaks sit flat at one level for far longer
/// than a sine of the sweep's frequency stays near its crest. A run of samples within
/// `tolerance` of the channel's largest magnitude counts as a flat top when it lasts over
/// three times what a sine at the sweep's instantaneous frequency would (plus two samples).
/// The tolerance is at least the capture's smallest step (its least non-zero magnitude: one
/// LSB of an integer capture), since a quiet sine in few bits sits on one code around its crest
/// for that long: a −40 dBFS sweep through 16 bits without noise read 269 flat tops.
/// `freq_at(i)` gives that frequency at capture sample `i` (None outside the sweep).
/// Returns the number of flat tops, their level (the largest magnitude) and the first one's
/// sample.
pub fn find_flat_tops(
    raw: &[f64],
    tolerance: f64,
    sample_rate: f64,
    freq_at: &dyn Fn(usize) -> Option<f64>,
) -> Option<(usize, f64, usize)> {
    let m = raw.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if m.is_nan() || m <= 1e-4 {
        return None;
    }
    let step = raw
        .iter()
        .map(|v| v.abs())
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let delta = tolerance.max(m * 2e-4).max(step.min(m));
    let rel = (2.0 * delta / m).sqrt();
    let mut count = 0;
    let mut first = None;
    let mut i = 0;
    while i < raw.len() {
        if raw[i].abs() < m - delta {
            i += 1;
            continue;
        }
        let sign = raw[i].signum();
        let start = i;
        while i < raw.len() && raw[i].abs() >= m - delta && raw[i].signum() == sign {
            i += 1;
        }
        let run = i - start;
        if let Some(f) = freq_at(start) {
            // a sine of peak m stays within delta of its crest for 2·√(2δ/m)/(2πf) seconds
            let natural = 2.0 * rel * sample_rate / (2.0 * std::f64::consts::PI * f);
            if run as f64 > 3.0 * natural + 2.0 {
                count += 1;
                first.get_or_insert(start);
            }
        }
    }
    (count >= 3).then(|| (count, m, first.unwrap_or(0)))
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
/// response on both sides. A sharp resonance or a steep filter can look alike in magnitude,
/// but not in phase: a physical (minimum-phase) step turns the phase by the amount Bode's
/// gain–phase relation gives, while a gain that changes in time scales the signal by a real
/// factor and leaves the phase alone. So a step counts only when its measured phase bump is
/// less than a third of the minimum-phase bump its magnitude implies, and the phase around it
/// is smooth enough (a room's phase wanders) for that to be told.
///
/// `phase_rad` is the unwrapped phase on the same grid. Returns (frequency, step in dB) of
/// the largest such step between `lo_hz` and `hi_hz`, if any.
pub fn find_gain_step(
    freq_hz: &[f64],
    gain_db: &[f64],
    phase_rad: &[f64],
    lo_hz: f64,
    hi_hz: f64,
) -> Option<(f64, f64)> {
    // spans of 1/6 octave (at 96 points per octave) either side of a 1/3-octave transition
    // (a step in time spreads over about 0.1 octave, with Gibbs ripple around it: an abrupt
    // −10 dB at 200 Hz undershoots by 4.7 dB 1/12 octave past its middle)
    const GAP: usize = 16;
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
    // the grid has 96 points per octave where nothing was left out; a stretch that spans a
    // gap (points below the noise) is not judged
    let contiguous = |a: usize, b: usize| {
        let (a, b) = (a.min(n - 1), b.min(n - 1));
        freq_hz[b] / freq_hz[a] <= 2f64.powf((b - a) as f64 / 96.0) * 1.001
    };
    for i in GAP + SPAN..n - GAP - SPAN {
        if freq_hz[i] < lo_hz || freq_hz[i] > hi_hz {
            continue;
        }
        if !contiguous(
            i.saturating_sub(BUMP_HALF.max(GAP + SPAN)),
            i + BUMP_HALF.max(GAP + SPAN),
        ) {
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
            // measure how sharp it is: from 20 % to 80 % of the step within 1/4 octave (a step
            // in time, or a ramp of tens of ms, seen through the response's window: 0.14
            // octave for an abrupt −10 dB at 200 Hz) — filters and resonance flanks that
            // shift the level are wider, and a filter's step turns the phase (below)
            let lvl = median(left.iter().copied());
            // (each crossing the one nearest `near`, within 1/6 octave of it: the 20 % and
            // 80 % ones nearest the middle, not a ripple's crossing on the far side)
            let cross = |frac: f64, near: usize| -> Option<(usize, f64)> {
                let target = lvl + frac * step;
                let mut found: Option<(usize, usize, f64)> = None;
                for j in near.saturating_sub(GAP)..(near + GAP).min(n - 1) {
                    let (a, b) = (gain_db[j] - target, gain_db[j + 1] - target);
                    if a * b <= 0.0 && a != b && found.is_none_or(|(d, _, _)| j.abs_diff(near) < d)
                    {
                        let t = a / (a - b);
                        found = Some((
                            j.abs_diff(near),
                            j,
                            (freq_hz[j] * (freq_hz[j + 1] / freq_hz[j]).powf(t)).log2(),
                        ));
                    }
                }
                found.map(|(_, j, l)| (j, l))
            };
            let Some((j50, l50)) = cross(0.5, i) else {
                continue;
            };
            let (Some((_, l20)), Some((_, l80))) = (cross(0.2, j50), cross(0.8, j50)) else {
                continue;
            };
            if (l80 - l20).abs() > 0.25 {
                continue;
            }
            // the phase is judged at the step's middle, where a minimum-phase bump peaks
            let at = 2f64.powf(l50);
            if !contiguous(
                j50.saturating_sub(BUMP_HALF + BUMP_AVG),
                j50 + BUMP_HALF + BUMP_AVG,
            ) || !phase_stays_put(freq_hz, gain_db, phase_rad, j50)
            {
                continue;
            }
            best = Some((at, step));
        }
    }
    best
}
