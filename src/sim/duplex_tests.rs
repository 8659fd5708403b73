//! Tests of the module beside it (kept apart so that the module reads in one sitting).

use super::*;
use crate::device::MemorySink;
use std::path::Path;

fn model(text: &str) -> DeviceModel {
    DeviceModel::from_toml_str(text, Path::new("test.toml")).unwrap()
}

fn run(m: &DeviceModel, stim: &[f32], extra: usize, block: usize) -> (Vec<f32>, Result<RunStats>) {
    let mut dev = SimDuplex::new(m.clone(), 7).with_block_frames(block);
    let req = RunRequest {
        sample_rate: 48000,
        stimulus: stim,
        output: crate::device::OutputRouting::Both,
        input_channels: None,
        extra_frames: extra,
    };
    let mut sink = MemorySink::default();
    let stop = AtomicBool::new(false);
    let r = dev.run(&req, &mut sink, &stop, &mut |_| {});
    (sink.samples, r)
}

fn chirp(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f64 / 48000.0;
            (0.3 * (2.0 * PI * (100.0 * t + 2000.0 * t * t)).sin()) as f32
        })
        .collect()
}

/// The capture is the same bit for bit whatever the block size.
#[test]
fn block_size_does_not_change_the_capture() {
    let m = model(
        "gain_db = -3\nlatency_samples = 100.3\ndrift_ppm = 50\nchannels = 2\n\
         [[stage]]\ntype = \"peaking\"\nfreq_hz = 1000\nq = 1\ngain_db = 6\n\
         [nonlinearity]\ntype = \"soft_clip\"\ndrive = 2\n\
         [[noise]]\ntype = \"pink\"\nlevel_dbfs = -60\n\
         [[noise]]\ntype = \"hum\"\nfreq_hz = 50\nharmonics = 3\nlevel_dbfs = -70\n\
         [[fault]]\ntype = \"dropout\"\nat_s = 0.1\nduration_ms = 3\nmode = \"missing\"\n\
         [[fault]]\ntype = \"agc_step\"\nat_s = 0.2\ngain_db = -6\n",
    );
    let stim = chirp(20000);
    let (a, ra) = run(&m, &stim, 500, 480);
    let (b, rb) = run(&m, &stim, 500, 4096);
    let (c, _) = run(&m, &stim, 500, 1);
    assert_eq!(a.len(), 2 * 20500);
    assert!(a == b && a == c);
    let (sa, sb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(sa, sb);
    assert_eq!(sa.xruns, 1);
    assert_eq!(sa.frames_captured, 20500);
}

/// A pure delay of whole samples reproduces the stimulus exactly, shifted.
#[test]
fn whole_sample_delay_is_exact() {
    let m = model("latency_samples = 37\n");
    let stim = chirp(1000);
    let (y, _) = run(&m, &stim, 100, 480);
    assert_eq!(y.len(), 1100);
    assert!(y[..37].iter().all(|&v| v == 0.0));
    assert_eq!(&y[37..1037], &stim[..]);
}

/// Drift: a band-limited click played at n arrives at (n + latency)·(1 + ppm·10⁻⁶)
/// (within 0.01 sample).
#[test]
fn drift_moves_clicks_as_specified() {
    for ppm in [500.0, -800.0] {
        let m = model(&format!("latency_samples = 40\ndrift_ppm = {ppm}\n"));
        let n = 96000;
        let mut stim = vec![0.0f32; n];
        let clicks = [1000usize, 90000];
        // clicks band-limited to 0.8 × Nyquist (Hann-windowed sinc), as a sweep is
        for &c in &clicks {
            for k in -24i32..=24 {
                let x = f64::from(k);
                let s = if k == 0 {
                    1.0
                } else {
                    (0.8 * PI * x).sin() / (0.8 * PI * x)
                };
                let w = 0.5 + 0.5 * (PI * x / 25.0).cos();
                stim[(c as i32 + k) as usize] = (0.8 * s * w) as f32;
            }
        }
        let (y, _) = run(&m, &stim, 0, 480);
        let y: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
        for &c in &clicks {
            let want = (c as f64 + 40.0) * (1.0 + ppm * 1e-6);
            let lo = want as usize - 200;
            let seg = &y[lo..lo + 400];
            let got = lo as f64 + crate::dsp::ir::peak_position(seg, |_| true);
            eprintln!("{ppm} ppm, click {c}: {got:.4} (want {want:.4})");
            assert!(
                (got - want).abs() < 0.01,
                "{ppm} ppm, click {c}: {got} vs {want}"
            );
        }
    }
}

/// Faults: zero dropout, agc step, clip, mute, device lost.
#[test]
fn faults_do_what_they_say() {
    let stim: Vec<f32> = vec![0.5; 48000];
    let m = model(
        "[[fault]]\ntype = \"dropout\"\nat_s = 0.1\nduration_ms = 10\nmode = \"zero\"\n\
         [[fault]]\ntype = \"agc_step\"\nat_s = 0.5\ngain_db = -6.0206\n\
         [[fault]]\ntype = \"clip\"\nlevel = 0.4\n",
    );
    let (y, _) = run(&m, &stim, 0, 480);
    assert!(y[4800..5280].iter().all(|&v| v == 0.0));
    assert_eq!(y[4799], 0.4);
    assert_eq!(y[5280], 0.4);
    assert!((y[24000] - 0.25).abs() < 1e-5 && (y[23999] - 0.4).abs() < 1e-9);

    let m = model("[[fault]]\ntype = \"mute\"\nat_s = 0.25\nduration_ms = 250\n");
    let (y, _) = run(&m, &stim, 0, 480);
    assert_eq!(y[11999], 0.5);
    assert!(y[12000..24000].iter().all(|&v| v == 0.0));
    assert_eq!(y[24000], 0.5);

    let m = model("[[fault]]\ntype = \"device_lost\"\nat_s = 0.3\n");
    let (y, r) = run(&m, &stim, 0, 1000);
    assert_eq!(y.len(), 14400);
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::Device(_)) && e.to_string().contains("0.300 s"),
        "{e}"
    );

    let m = model(
        "latency_samples = 4800\n[[fault]]\ntype = \"dropout\"\nat_s = 0.1\nduration_ms = 10\nmode = \"missing\"\n",
    );
    let stim = chirp(48000);
    let (y, r) = run(&m, &stim, 0, 480);
    assert_eq!(r.unwrap().xruns, 1);
    // the first 0.1 s is the latency's silence; then the stimulus from its 480th sample
    assert!(y[..4800].iter().all(|&v| v == 0.0));
    assert_eq!(&y[4800..5000], &stim[480..680]);
}

/// Extra channels: copies carry the signal with independent noise, noise channels none.
#[test]
fn extra_channels_and_selection() {
    let stim = chirp(4800);
    for (mode, signal) in [("copy", true), ("noise", false)] {
        let m = model(&format!(
            "channels = 3\nextra_channels = \"{mode}\"\n[[noise]]\ntype = \"white\"\nlevel_dbfs = -80\n"
        ));
        let (y, _) = run(&m, &stim, 0, 480);
        let ch = |c: usize| -> Vec<f32> { y.iter().skip(c).step_by(3).copied().collect() };
        let (a, b, c) = (ch(0), ch(1), ch(2));
        assert_ne!(b, c);
        let err: f64 = a
            .iter()
            .zip(&stim)
            .map(|(x, s)| f64::from(x - s).powi(2))
            .sum::<f64>()
            / 4800.0;
        assert!(err < 1e-7);
        let e1: f64 = b
            .iter()
            .zip(&stim)
            .map(|(x, s)| f64::from(x - s).powi(2))
            .sum::<f64>()
            / 4800.0;
        assert_eq!(e1 < 1e-7, signal, "{mode}");
    }
    let m = model("channels = 2\n");
    let mut dev = SimDuplex::new(m, 1);
    let req = RunRequest {
        sample_rate: 48000,
        stimulus: &stim,
        output: crate::device::OutputRouting::Left,
        input_channels: Some(vec![1, 5]),
        extra_frames: 0,
    };
    assert_eq!(dev.input_channel_count(&req), 2);
    let e = dev
        .run(
            &req,
            &mut MemorySink::default(),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(e.to_string().contains("channel 5"), "{e}");
}

/// The stop flag, set from the progress callback, stops the run promptly.
#[test]
fn stop_flag_interrupts() {
    let m = model("");
    let stim = chirp(96000);
    let mut dev = SimDuplex::new(m, 1);
    let req = RunRequest {
        sample_rate: 48000,
        stimulus: &stim,
        output: crate::device::OutputRouting::Both,
        input_channels: None,
        extra_frames: 0,
    };
    let stop = AtomicBool::new(false);
    let mut sink = MemorySink::default();
    let mut calls = 0;
    let s = dev
        .run(&req, &mut sink, &stop, &mut |p| {
            calls += 1;
            if p.frames_done >= 24000 {
                stop.store(true, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert!(s.interrupted);
    assert_eq!(s.frames_captured, 24000);
    assert_eq!(sink.samples.len(), 24000);
    assert_eq!(calls, 5);
}
