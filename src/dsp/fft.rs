//! FFT plans, created once per size per process and reused (realfft over f64).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use realfft::num_complex::Complex64;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

type Forward = Arc<dyn RealToComplex<f64>>;
type Inverse = Arc<dyn ComplexToReal<f64>>;

/// The plans of one length, each made once per process when first asked for.
#[derive(Default)]
struct Plans {
    forward: OnceLock<Forward>,
    inverse: OnceLock<Inverse>,
}

/// The process-wide plans by length: planning (twiddle factors) costs about as much as a
/// transform, so every analysis in a process shares one set. The map's lock is held only to
/// find a length's cell; the planning itself runs outside it, so two threads plan two
/// lengths (or the two directions of one) at once, and a thread that wants a plan being
/// made waits for that one only.
fn plans(n: usize) -> Arc<Plans> {
    static MAP: OnceLock<Mutex<HashMap<usize, Arc<Plans>>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(n)
        .or_default()
        .clone()
}

/// Each plan comes from a planner of its own: rustfft builds a length from the sub-transforms
/// its planner already holds, so a planner that planned other lengths first can build the
/// same length another way and round differently in the last bits (with one planner per
/// thread, a session analysed alone and the same session analysed beside another differed
/// in the 17th significant digit of a THD noise floor: tests/cli.rs). A planner per plan
/// gives every length one structure whatever ran before, at no measurable cost.
fn forward_plan(n: usize) -> Forward {
    plans(n)
        .forward
        .get_or_init(|| RealFftPlanner::<f64>::new().plan_fft_forward(n))
        .clone()
}

fn inverse_plan(n: usize) -> Inverse {
    plans(n)
        .inverse
        .get_or_init(|| RealFftPlanner::<f64>::new().plan_fft_inverse(n))
        .clone()
}

/// Makes the forward plan of length `n` for the whole process (a caller that knows a length
/// early plans it while it does something else, such as reading the samples).
pub fn plan_forward(n: usize) {
    forward_plan(n);
}

/// Makes the inverse plan of length `n` for the whole process (see [`plan_forward`]).
pub fn plan_inverse(n: usize) {
    inverse_plan(n);
}

/// Forward and inverse real-FFT plans by size, fetched from the process-wide ones once and
/// then held locally (no lock on the hot path). Cheap to make: each task of a parallel
/// analysis has its own.
#[derive(Clone)]
pub struct FftCache {
    forward: HashMap<usize, Forward>,
    inverse: HashMap<usize, Inverse>,
}

impl Default for FftCache {
    fn default() -> Self {
        Self::new()
    }
}

impl FftCache {
    pub fn new() -> Self {
        FftCache {
            forward: HashMap::new(),
            inverse: HashMap::new(),
        }
    }

    /// Makes (or fetches) both plans of length `n` now, the two directions on two threads
    /// when a second one is free.
    pub fn prepare(&mut self, n: usize) {
        let (f, i) = rayon::join(|| forward_plan(n), || inverse_plan(n));
        self.forward.insert(n, f);
        self.inverse.insert(n, i);
    }

    /// Forward real FFT of `input` zero-padded (or truncated) to `n`: `n/2 + 1` bins, unscaled.
    pub fn forward(&mut self, input: &[f64], n: usize) -> Vec<Complex64> {
        self.forward_offset(input, 0.0, n)
    }

    /// Forward FFT of `input − offset` (a DC removal folded into the copy that the transform
    /// needs anyway), zero-padded to `n`.
    pub fn forward_offset(&mut self, input: &[f64], offset: f64, n: usize) -> Vec<Complex64> {
        let plan = self
            .forward
            .entry(n)
            .or_insert_with(|| forward_plan(n))
            .clone();
        let mut buf = vec![0.0; n];
        let m = input.len().min(n);
        for (b, v) in buf[..m].iter_mut().zip(input) {
            *b = v - offset;
        }
        let mut out = plan.make_output_vec();
        plan.process(&mut buf, &mut out)
            .expect("buffer sizes come from the plan");
        out
    }

    /// Like [`FftCache::forward`], transforming `input` in place (zero-padded or truncated to
    /// `n`): no second buffer of `n` samples.
    pub fn forward_owned(&mut self, mut input: Vec<f64>, n: usize) -> Vec<Complex64> {
        let plan = self
            .forward
            .entry(n)
            .or_insert_with(|| forward_plan(n))
            .clone();
        input.resize(n, 0.0);
        let mut out = plan.make_output_vec();
        plan.process(&mut input, &mut out)
            .expect("buffer sizes come from the plan");
        out
    }

    /// Inverse real FFT of `n/2 + 1` bins to `n` samples, scaled by 1/n (a true inverse).
    pub fn inverse(&mut self, spectrum: &[Complex64], n: usize) -> Vec<f64> {
        self.inverse_owned(spectrum.to_vec(), n)
    }

    /// Like [`FftCache::inverse`], consuming the spectrum (no copy of a large buffer).
    pub fn inverse_owned(&mut self, spectrum: Vec<Complex64>, n: usize) -> Vec<f64> {
        let plan = self
            .inverse
            .entry(n)
            .or_insert_with(|| inverse_plan(n))
            .clone();
        let mut buf = spectrum;
        // a real signal's DC and Nyquist bins are real; drop rounding residue so realfft agrees
        buf[0].im = 0.0;
        if n.is_multiple_of(2) {
            let last = buf.len() - 1;
            buf[last].im = 0.0;
        }
        let mut out = plan.make_output_vec();
        plan.process(&mut buf, &mut out)
            .expect("buffer sizes come from the plan");
        let scale = 1.0 / n as f64;
        out.iter_mut().for_each(|v| *v *= scale);
        out
    }
}

/// The smallest n ≥ `min` whose only prime factors are 2, 3 and 5 (fast for rustfft).
pub fn good_size(min: usize) -> usize {
    let min = min.max(2);
    let mut best = usize::MAX;
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            let mut n = p35;
            while n < min {
                n *= 2;
            }
            if n < best {
                best = n;
            }
            p35 *= 3;
        }
        p5 *= 5;
    }
    // keep it even so the Nyquist bin exists
    if best % 2 == 1 {
        good_size(best + 1)
    } else {
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every plan is checked against a naive DFT (tolerance 1e-9 relative to the signal's sum).
    #[test]
    fn forward_matches_naive_dft() {
        let mut cache = FftCache::new();
        for &n in &[2usize, 6, 30, 64, 90, 128, 250] {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 7 + 3) % 11) as f64 - 5.0 + (i as f64 * 0.3).sin())
                .collect();
            let got = cache.forward(&x, n);
            for (k, g) in got.iter().enumerate() {
                let mut want = Complex64::new(0.0, 0.0);
                for (i, &v) in x.iter().enumerate() {
                    let ph = -2.0 * std::f64::consts::PI * (k * i) as f64 / n as f64;
                    want += Complex64::new(v * ph.cos(), v * ph.sin());
                }
                assert!(
                    (g - want).norm() < 1e-9 * n as f64,
                    "n={n} k={k}: {g} vs {want}"
                );
            }
            let back = cache.inverse(&got, n);
            for (a, b) in back.iter().zip(&x) {
                assert!((a - b).abs() < 1e-12, "round trip n={n}");
            }
        }
    }

    #[test]
    fn good_sizes_are_smooth_and_minimal() {
        assert_eq!(good_size(1000), 1000);
        assert_eq!(good_size(1001), 1024);
        assert_eq!(good_size(577), 600);
        for m in [17usize, 999, 48_001, 600_001] {
            let n = good_size(m);
            assert!(n >= m && n.is_multiple_of(2));
            let mut r = n;
            for p in [2, 3, 5] {
                while r.is_multiple_of(p) {
                    r /= p;
                }
            }
            assert_eq!(r, 1, "{n} has other factors");
            assert!((n as f64) < m as f64 * 1.1, "{n} not close to {m}");
        }
    }
}
