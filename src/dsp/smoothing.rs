//! Fractional-octave smoothing by power averaging.
//!
//! The smoothed value at `f` for a 1/n-octave smoothing is the mean of |H|² over the
//! frequency interval [f·2^(−1/2n), f·2^(+1/2n)] (±1/2n octave), integrating the piecewise-
//! linear interpolant of the power over linear frequency. The same function serves a dense
//! linear FFT grid and a sparse log grid, so the analysis and `compare` smooth alike.

/// Power average of a sampled power curve, evaluated at `at_hz`.
///
/// `freq_hz` must be strictly increasing; `power` has the same length. Where the smoothing
/// interval reaches past the data, only the covered part is averaged.
///
/// The integral over an interval is a sum of positive parts only (the trapezoids inside it,
/// gathered from a segment tree, and the two partial ones at its ends), never the difference
/// of two running totals: over a curve spanning more than 150 dB (a noise spectrum of loud
/// hum over a silent converter), a running total from the loud end swallowed the quiet end's
/// trapezoids in rounding, and the average there came out 0 (−300 dB) or noise.
pub fn smooth_power(freq_hz: &[f64], power: &[f64], at_hz: &[f64], fraction: f64) -> Vec<f64> {
    assert_eq!(freq_hz.len(), power.len());
    if freq_hz.is_empty() {
        return vec![f64::NAN; at_hz.len()];
    }
    let areas = Sums::new(
        freq_hz
            .windows(2)
            .zip(power.windows(2))
            .map(|(f, p)| 0.5 * (p[0] + p[1]) * (f[1] - f[0])),
    );
    let half = 2f64.powf(0.5 / fraction);
    let lo_f = freq_hz[0];
    let hi_f = freq_hz[freq_hz.len() - 1];
    at_hz
        .iter()
        .map(|&f| {
            let a = (f / half).max(lo_f);
            let b = (f * half).min(hi_f);
            if b.is_nan() || a.is_nan() || b <= a {
                return interp_linear(freq_hz, power, f.clamp(lo_f, hi_f));
            }
            integral(freq_hz, power, &areas, a, b) / (b - a)
        })
        .collect()
}

/// Sums of consecutive runs of values, each from the nodes of a segment tree that lie
/// inside the run: additions only. Written here because it is ten lines and the crates that
/// offer one bring generic machinery for what a power average needs once.
struct Sums {
    n: usize,
    tree: Vec<f64>,
}

impl Sums {
    fn new(values: impl ExactSizeIterator<Item = f64>) -> Sums {
        let n = values.len();
        let mut tree = vec![0.0; 2 * n];
        for (i, v) in values.enumerate() {
            tree[n + i] = v;
        }
        for i in (1..n).rev() {
            tree[i] = tree[2 * i] + tree[2 * i + 1];
        }
        Sums { n, tree }
    }

    /// The sum of values `lo..hi`.
    fn range(&self, lo: usize, hi: usize) -> f64 {
        let (mut l, mut r) = (lo.min(self.n) + self.n, hi.min(self.n) + self.n);
        let mut sum = 0.0;
        while l < r {
            if l % 2 == 1 {
                sum += self.tree[l];
                l += 1;
            }
            if r % 2 == 1 {
                r -= 1;
                sum += self.tree[r];
            }
            l /= 2;
            r /= 2;
        }
        sum
    }
}

/// The integral of the piecewise-linear `y(x)` over [a, b] (inside the data, a < b).
fn integral(x: &[f64], y: &[f64], areas: &Sums, a: f64, b: f64) -> f64 {
    let at = |x0: f64| -> (usize, f64) {
        // x[i-1] <= x0 < x[i] (i clamped to the last point), and y there
        let i = x.partition_point(|&v| v <= x0).clamp(1, x.len() - 1);
        let t = (x0 - x[i - 1]) / (x[i] - x[i - 1]);
        (i, y[i - 1] + t * (y[i] - y[i - 1]))
    };
    let ((ia, ya), (ib, yb)) = (at(a), at(b));
    if ia == ib {
        // both ends inside one trapezoid
        return 0.5 * (ya + yb) * (b - a);
    }
    // [a, x[ia]], the whole trapezoids x[ia]..x[ib-1], [x[ib-1], b]
    0.5 * (ya + y[ia]) * (x[ia] - a)
        + areas.range(ia, ib - 1)
        + 0.5 * (y[ib - 1] + yb) * (b - x[ib - 1])
}

/// Smooths a dB magnitude curve (20·log10|H|) and returns dB on `at_hz`.
pub fn smooth_db(freq_hz: &[f64], gain_db: &[f64], at_hz: &[f64], fraction: f64) -> Vec<f64> {
    let power: Vec<f64> = gain_db.iter().map(|g| 10f64.powf(g / 10.0)).collect();
    smooth_power(freq_hz, &power, at_hz, fraction)
        .into_iter()
        .map(|p| 10.0 * p.max(1e-30).log10())
        .collect()
}

/// Linear interpolation of `y(x)` at `x0` (clamped to the ends).
pub fn interp_linear(x: &[f64], y: &[f64], x0: f64) -> f64 {
    let n = x.len();
    if n == 0 {
        return f64::NAN;
    }
    if x0 <= x[0] {
        return y[0];
    }
    if x0 >= x[n - 1] {
        return y[n - 1];
    }
    let i = x.partition_point(|&v| v <= x0); // x[i-1] <= x0 < x[i]
    let (x1, x2) = (x[i - 1], x[i]);
    let t = (x0 - x1) / (x2 - x1);
    y[i - 1] + t * (y[i] - y[i - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant power stays constant (exact up to rounding: 1e-12 dB).
    #[test]
    fn flat_stays_flat() {
        let f: Vec<f64> = (1..2000).map(|i| i as f64 * 10.0).collect();
        let db = vec![-3.0; f.len()];
        let out = smooth_db(&f, &db, &[100.0, 1000.0, 19000.0], 3.0);
        for v in out {
            assert!((v + 3.0).abs() < 1e-12, "{v}");
        }
    }

    /// A power linear in f averages to its value at the interval's midpoint (arithmetic),
    /// which for ±1/2n octave is f·(2^(1/2n)+2^(-1/2n))/2: exact for a linear interpolant.
    #[test]
    fn linear_power_averages_to_arithmetic_centre() {
        let f: Vec<f64> = (1..=4000).map(|i| i as f64 * 5.0).collect();
        let p: Vec<f64> = f.iter().map(|x| 2.0 * x).collect();
        let n = 6.0;
        let out = smooth_power(&f, &p, &[1000.0], n);
        let h = 2f64.powf(0.5 / n);
        let want = 2.0 * 1000.0 * (h + 1.0 / h) / 2.0;
        assert!((out[0] / want - 1.0).abs() < 1e-12, "{} vs {want}", out[0]);
    }

    /// Over a curve spanning 240 dB (power 1 below 100 Hz, 1e-24 from 110 Hz up) the average
    /// far from the loud end is the quiet level, to 1e-9 relative (running totals gave 0).
    #[test]
    fn quiet_end_of_a_wide_curve_is_averaged_exactly() {
        let f: Vec<f64> = (1..=24000).map(f64::from).collect();
        let p: Vec<f64> = f
            .iter()
            .map(|&x| if x < 110.0 { 1.0 } else { 1e-24 })
            .collect();
        for at in [500.0, 2000.0, 19000.0] {
            let out = smooth_power(&f, &p, &[at], 6.0)[0];
            assert!((out / 1e-24 - 1.0).abs() < 1e-9, "{at}: {out}");
        }
        // and an interval inside one trapezoid
        let out = smooth_power(&[1.0, 1000.0], &[2.0, 2.0], &[500.0], 6.0)[0];
        assert!((out - 2.0).abs() < 1e-12, "{out}");
    }

    /// A single narrow notch of known area reduces a 1/3-octave average by area/width.
    #[test]
    fn step_edge_is_averaged_by_interval_share() {
        // power 1 below 1000 Hz, 0 above, sampled every 1 Hz; at f = 1000 the ±1/6-oct
        // interval is [890.9, 1122.5]: share below 1000 ≈ (1000-890.9 + 0.5)/231.6
        let f: Vec<f64> = (1..=3000).map(|i| i as f64).collect();
        let p: Vec<f64> = f
            .iter()
            .map(|&x| if x <= 1000.0 { 1.0 } else { 0.0 })
            .collect();
        let out = smooth_power(&f, &p, &[1000.0], 3.0)[0];
        let h = 2f64.powf(1.0 / 6.0);
        let (a, b) = (1000.0 / h, 1000.0 * h);
        let want = (1000.0 - a + 0.5) / (b - a); // the linear ramp 1000→1001 contributes 0.5
        assert!((out - want).abs() < 1e-9, "{out} vs {want}");
    }
}
