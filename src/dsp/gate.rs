//! Which points of a windowed response are measured: those standing 6 dB above the noise
//! their window collects, clear of a steady tone in that noise, and unchanged by a stretch
//! of the sweep the capture lost (a dropout). Each gate returns a flag per grid point; the
//! analysis leaves out what any of them refuses and names the stretches.

use realfft::num_complex::Complex64;

use super::window::WindowedResponse;

/// A response point counts when its power (1/6-octave average) is this many times the noise
/// its window collects (6 dB).
const RESPONSE_NOISE_GATE: f64 = 4.0;

/// Whether each point stands 6 dB above the noise its window collects, both averaged over
/// 1/6 octave (below, a point says more about the noise than the device); every point when
/// the impulse response holds no stretch of pure noise.
pub fn above_noise(resp: &WindowedResponse) -> Vec<bool> {
    match &resp.noise_power {
        Some(noise) => resp.smoothed_power[1]
            .iter()
            .zip(noise)
            .map(|(s, n)| *s >= RESPONSE_NOISE_GATE * n)
            .collect(),
        None => vec![true; resp.values.len()],
    }
}

/// Whether each point lies near a steady tone in the noise (hum, a whine, interference).
/// Such a tone stands in the noise stretch as it stands in the response, at the same
/// frequencies: where the noise at a point rises 13 dB over the median on each side of it
/// (1/2 octave), the point is compared with the noise there, not with an average that the
/// tone hardly moves, and kept only 30 dB above it (within 0.3 dB of the response wherever
/// the tone's phase falls; the noise stretch reads a tone's shoulders lower than the
/// response's window does, and with 20 dB points beside the tone stayed 0.5–0.6 dB off).
/// Random noise reaches 13 dB over its median at one point in a million.
pub fn near_steady_tone(grid: &[f64], resp: &WindowedResponse) -> Vec<bool> {
    let (Some(pts), Some(_)) = (&resp.noise_point_power, &resp.noise_power) else {
        return vec![false; grid.len()];
    };
    let background = tone_background(grid, pts, 0.5);
    (0..grid.len())
        .map(|i| {
            pts[i] >= TONAL_OVER_MEDIAN * background[i]
                && resp.values[i].norm_sqr() < TONAL_MARGIN * pts[i]
        })
        .collect()
}

/// Noise at a point this far over the median around it (power, 13 dB) is a steady tone.
const TONAL_OVER_MEDIAN: f64 = 20.0;
/// A point near a steady tone is kept only this far above it (power, 30 dB).
const TONAL_MARGIN: f64 = 1000.0;

/// The level a steady tone in `v` (on the log grid `grid`) must stand out from: the larger
/// of the medians over `half_oct` octaves on either side of each point (a tone is a peak,
/// above both sides; a slope, as the noise rising past the sweep's end, is not). Infinite
/// where a side holds fewer than 8 points (1/12 octave): no tone is told there.
fn tone_background(grid: &[f64], v: &[f64], half_oct: f64) -> Vec<f64> {
    let k = 2f64.powf(half_oct);
    let median = |s: &[f64]| -> f64 {
        if s.len() < 8 {
            return f64::INFINITY;
        }
        let mut b = s.to_vec();
        b.sort_by(f64::total_cmp);
        b[b.len() / 2]
    };
    grid.iter()
        .enumerate()
        .map(|(i, &f)| {
            let (a, b) = (
                grid.partition_point(|&g| g < f / k),
                grid.partition_point(|&g| g <= f * k),
            );
            median(&v[a..i]).max(median(&v[i + 1..b]))
        })
        .collect()
}

/// A response point is left out where the sweep's energy a capture lost changes it by more
/// than this, dB.
pub const LOST_TOLERANCE_DB: f64 = 0.1;

/// Which grid points of the response survive the stimulus stretches a capture lost: `whole`
/// is the stimulus's own impulse response and `lost` the part the lost stretches make of it
/// ([`super::deconv::Deconvolver::lost_stretches`], peaks at 0). A point is held where `lost`, windowed as
/// the device's response is (`respond`), stays within [`LOST_TOLERANCE_DB`] of `whole`: a
/// linear device's response over a window is a smooth multiple of the stimulus's, so the
/// ratio is what the loss does to the measured point. Computed, not guessed from the sweep's
/// time-frequency map, it accounts for how far each window smears a stretch in frequency.
/// A held point between lost ones less than 1/6 octave apart is held by the two losses
/// cancelling there, which the device's own phase undoes: it is not held.
pub fn held_points(
    whole: &[f64],
    lost: &[f64],
    grid: &[f64],
    respond: &(dyn Fn(&[f64]) -> Vec<Complex64> + Sync),
) -> Vec<bool> {
    let (w, l) = rayon::join(|| respond(whole), || respond(lost));
    let limit = 1.0 - 10f64.powf(-LOST_TOLERANCE_DB / 20.0);
    let mut held: Vec<bool> = w
        .iter()
        .zip(&l)
        .map(|(w, l)| l.norm() <= limit * w.norm())
        .collect();
    let lost_at: Vec<usize> = (0..held.len()).filter(|&i| !held[i]).collect();
    for pair in lost_at.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b > a + 1 && grid[b] / grid[a] < 2f64.powf(1.0 / 6.0) {
            held[a..b].iter_mut().for_each(|h| *h = false);
        }
    }
    held
}

/// "f1–f2, f3, …" for the runs of grid points not `kept` (the first six, then how many more).
pub fn name_stretches(grid: &[f64], kept: &[bool]) -> String {
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < kept.len() {
        if kept[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < kept.len() && !kept[i] {
            i += 1;
        }
        runs.push(if i - start == 1 {
            crate::units::hz3(grid[start])
        } else {
            format!(
                "{}–{}",
                crate::units::hz3(grid[start]),
                crate::units::hz3(grid[i - 1])
            )
        });
    }
    const NAMED: usize = 6;
    let more = runs.len().saturating_sub(NAMED);
    runs.truncate(NAMED);
    format!(
        "{}{}",
        runs.join(", "),
        match more {
            0 => String::new(),
            1 => " and 1 more stretch".into(),
            n => format!(" and {n} more stretches"),
        }
    )
}
