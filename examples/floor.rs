//! The physical floor of analysing one session, as a whole process: read `stimulus.wav` and
//! `capture.wav` (the same bounded reader the analysis uses), plan the real FFT of the
//! analysis's length in a fresh planner, and run the transforms no deconvolution can do
//! without: one forward of the stimulus, one forward and one inverse per capture channel.
//! Nothing else: no window, no metric, no file written.
//!
//! `cargo build --release --examples`, then, paired against the analysis (issue 17):
//!   farm-bench --vs 'target/release/examples/floor SESSION' -- \
//!       target/release/sweeplab analyze SESSION --out OUT --no-plots -q
//! The median A/B wall ratio is the analysis's cost in multiples of its floor.

use std::path::PathBuf;

use realfft::RealFftPlanner;
use sweeplab::dsp::fft::good_size;
use sweeplab::storage::session_file::read_session;
use sweeplab::storage::wav::{read_wav, read_wav_prefix};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: floor SESSION_DIR")?);
    let session = read_session(&dir)?;
    let stim = read_wav(&dir.join("stimulus.wav"))?;
    // the analysis reads the capture up to 5 s past the stimulus
    let needed = stim.frames() + 5 * stim.sample_rate as usize;
    let (cap, _) = read_wav_prefix(&dir.join("capture.wav"), Some(needed))?;
    let fs = f64::from(session.sample_rate);
    let sw = &session.sweep;
    let rate_l_s = match &session.sync {
        Some(s) => s.rate_l_s,
        None => sw.duration_s / (sw.end_hz / sw.start_hz).ln(),
    };
    let base = stim.frames().max(cap.frames());
    let n = good_size(sweeplab::dsp::analyze::transform_min_len(
        base,
        rate_l_s * fs,
    ));
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(n);
    let transform = |x: &[f64]| {
        let mut buf = vec![0.0; n];
        let m = x.len().min(n);
        buf[..m].copy_from_slice(&x[..m]);
        let mut out = forward.make_output_vec();
        forward
            .process(&mut buf, &mut out)
            .expect("sizes from the plan");
        out
    };
    let x = transform(&stim.channels[0]);
    let mut check = 0.0;
    for ch in &cap.channels {
        let mut y = transform(ch);
        for (a, b) in y.iter_mut().zip(&x) {
            *a *= b.conj();
        }
        let mut h = inverse.make_output_vec();
        inverse
            .process(&mut y, &mut h)
            .expect("sizes from the plan");
        check += h[0];
    }
    // the result is used, so that nothing is optimised away
    println!(
        "n = {n}, channels = {}, h[0] sum = {check:e}",
        cap.channels.len()
    );
    Ok(())
}
