//! Unit tests of the callbacks' routing, format conversion, overflow counting, timestamp
//! estimate and period choice (no device needed).

use super::*;

fn shared() -> Arc<Shared> {
    Arc::new(Shared {
        c: Counters::default(),
        out_ts: TimestampLog::new(),
        in_ts: TimestampLog::new(),
    })
}

fn out_info(playback_ns: u64) -> cpal::OutputCallbackInfo {
    cpal::OutputCallbackInfo::new(cpal::OutputStreamTimestamp {
        callback: cpal::StreamInstant::from_nanos(playback_ns / 2),
        playback: cpal::StreamInstant::from_nanos(playback_ns),
    })
}

fn in_info(capture_ns: u64) -> cpal::InputCallbackInfo {
    cpal::InputCallbackInfo::new(cpal::InputStreamTimestamp {
        callback: cpal::StreamInstant::from_nanos(capture_ns * 2),
        capture: cpal::StreamInstant::from_nanos(capture_ns),
    })
}

#[test]
fn output_routes_converts_and_pads_with_silence() {
    let sh = shared();
    sh.c.in_frames.store(7, Ordering::Relaxed);
    let mut out = OutputState {
        stimulus: Arc::from(&[0.5f32, -0.5, 0.25][..]),
        pos: 0,
        frames_written: 0,
        channels: 3,
        route: vec![false, true, false].into_boxed_slice(),
        fs: 1000,
        shared: sh.clone(),
    };
    let mut buf = [99i16; 6];
    out.fill(&mut buf, &out_info(5_000_000_000));
    assert_eq!(buf, [0, 16384, 0, 0, -16384, 0]);
    out.fill(&mut buf, &out_info(5_002_000_000));
    assert_eq!(buf, [0, 8192, 0, 0, 0, 0]);
    assert!(sh.c.out_started.load(Ordering::Relaxed));
    assert_eq!(sh.c.in_frames_at_out_start.load(Ordering::Relaxed), 7);
    assert_eq!(sh.c.out_frames.load(Ordering::Relaxed), 4);
    // Both callbacks put frame 0 at 5 s (the second one's first frame is frame 2).
    assert_eq!(sh.out_ts.estimate(1000), Some((5_000_000_000, 0)));
}

#[test]
fn input_selects_converts_and_counts_overflow() {
    let sh = shared();
    let (producer, mut consumer) = rtrb::RingBuffer::<f32>::new(6);
    let mut inp = InputState {
        producer,
        channels: 3,
        select: vec![2, 0].into_boxed_slice(),
        frames_received: 0,
        fs: 1000,
        shared: sh.clone(),
    };
    // u8 is offset binary: 128 = 0.0, 192 = 0.5, 64 = -0.5.
    inp.push(&[192u8, 0, 64, 128, 0, 192], &in_info(1_000_000_000));
    inp.push(&[64u8, 0, 128, 192, 0, 64], &in_info(1_002_000_000));
    let got: Vec<f32> = std::iter::from_fn(|| consumer.pop().ok()).collect();
    // Room for 3 frames: the 4th is dropped and counted.
    assert_eq!(got, [-0.5, 0.5, 0.5, 0.0, 0.0, -0.5]);
    assert_eq!(sh.c.in_frames.load(Ordering::Relaxed), 3);
    assert_eq!(sh.c.in_overflows.load(Ordering::Relaxed), 1);
    assert_eq!(sh.c.in_dropped_frames.load(Ordering::Relaxed), 1);
    assert_eq!(sh.c.in_callbacks.load(Ordering::Relaxed), 2);
    assert_eq!(sh.in_ts.estimate(1000), Some((1_000_000_000, 0)));
}

#[test]
fn timestamp_estimate_ignores_the_buffer_fill() {
    let log = TimestampLog::new();
    let fs = 48_000;
    // Buffer-filling callbacks: tens of ms early.
    for (i, early_ms) in [30, 60, 20].iter().enumerate() {
        log.record(i as u64 * 1365, 1_000_000_000 - early_ms * 1_000_000);
    }
    for i in 3..40u64 {
        log.record(i * 1365, 1_000_000_000 + (i as i64 % 3) * 10_000);
    }
    let (median, spread) = log.estimate(fs).unwrap();
    assert_eq!(median, 1_000_010_000);
    assert_eq!(spread, 20_000);
    // Beyond the window nothing is wanted.
    assert!(TimestampLog::wants(fs, fs));
    assert!(!TimestampLog::wants(fs * 2, fs));
}

#[test]
fn period_is_the_power_of_two_nearest_40_ms_within_range() {
    let range = |min, max| cpal::SupportedBufferSize::Range { min, max };
    assert_eq!(
        buffer_size(&range(64, 8192), 48_000),
        cpal::BufferSize::Fixed(2048)
    );
    assert_eq!(
        buffer_size(&range(64, 8192), 44_100),
        cpal::BufferSize::Fixed(2048)
    );
    assert_eq!(
        buffer_size(&range(64, 8192), 96_000),
        cpal::BufferSize::Fixed(4096)
    );
    assert_eq!(
        buffer_size(&range(64, 1024), 48_000),
        cpal::BufferSize::Fixed(1024)
    );
    assert_eq!(
        buffer_size(&range(4096, 8192), 8_000),
        cpal::BufferSize::Fixed(4096)
    );
    assert_eq!(
        buffer_size(&cpal::SupportedBufferSize::Unknown, 48_000),
        cpal::BufferSize::Default
    );
}
