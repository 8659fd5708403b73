//! A live measurement on real devices: the level check before the sweep, and `measure`
//! (refuse to overwrite, open the devices, check the level, record, analyse).

use crate::device::{Duplex, MemorySink, OutputRouting, RunRequest};
use crate::error::{Error, Result};

#[cfg(feature = "live")]
pub use measure::{MeasureOutcome, MeasureRequest, measure};

/// What the level check heard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelReport {
    /// Peak input sample, dBFS.
    pub peak_dbfs: f64,
    /// Level of the test tone in the input (AES17 dBFS), from a single-bin DFT.
    pub tone_dbfs: f64,
}

/// Before a live sweep: plays a 1 kHz tone at the sweep level for 0.5 s and checks that the
/// input neither clips nor stays silent. Returns the report, or a `LevelCheck` error with
/// advice (the caller may go on anyway with `--force`).
pub fn level_check(
    device: &mut dyn Duplex,
    sample_rate: u32,
    level_dbfs: f64,
    output: OutputRouting,
    input_channels: Option<Vec<u16>>,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<LevelReport> {
    let fs = f64::from(sample_rate);
    let amp = 10f64.powf(level_dbfs / 20.0);
    let lead = (0.1 * fs) as usize;
    let tone_len = (0.5 * fs) as usize;
    let ramp = (0.01 * fs) as usize;
    let tone: Vec<f32> = (0..lead + tone_len)
        .map(|i| {
            if i < lead {
                return 0.0;
            }
            let k = i - lead;
            let w = (k.min(tone_len - 1 - k) as f64 / ramp as f64).min(1.0);
            (amp * w * (2.0 * std::f64::consts::PI * 1000.0 * k as f64 / fs).sin()) as f32
        })
        .collect();
    let req = RunRequest {
        sample_rate,
        stimulus: &tone,
        output,
        input_channels,
        extra_frames: (0.3 * fs) as usize,
    };
    let channels = usize::from(device.input_channel_count(&req).max(1));
    let mut sink = MemorySink::default();
    let stats = device.run(&req, &mut sink, stop, &mut |_| {})?;
    if stats.interrupted {
        return Err(Error::Interrupted(
            "stopped (Ctrl-C) during the level check, before anything was recorded".into(),
        ));
    }
    let x = &sink.samples;
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let peak_dbfs = 20.0 * f64::from(peak).max(1e-12).log10();
    // the loudest channel's 1 kHz component (Goertzel over the whole capture)
    let mut tone_dbfs = f64::NEG_INFINITY;
    for c in 0..channels {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let w = 2.0 * std::f64::consts::PI * 1000.0 / fs;
        let frames = x.len() / channels;
        for i in 0..frames {
            let s0 = f64::from(x[i * channels + c]) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        // amplitude of a tone lasting tone_len samples
        let a = 2.0 * power.sqrt() / tone_len as f64;
        tone_dbfs = tone_dbfs.max(20.0 * a.max(1e-12).log10());
    }
    let report = LevelReport {
        peak_dbfs,
        tone_dbfs,
    };
    if peak >= 0.999 {
        return Err(Error::LevelCheck(format!(
            "the input clips (peak {peak_dbfs:.1} dBFS) with a 1 kHz tone at {level_dbfs} dBFS: lower --level or the input gain, or pass --force"
        )));
    }
    if tone_dbfs < -80.0 {
        return Err(Error::LevelCheck(format!(
            "no signal: the 1 kHz test tone reads {tone_dbfs:.1} dBFS at the input (peak {peak_dbfs:.1} dBFS); is the mic muted, the wrong input selected, or the output not reaching it? Pass --force to measure anyway"
        )));
    }
    Ok(report)
}

#[cfg(feature = "live")]
mod measure {
    use std::path::PathBuf;
    use std::sync::atomic::AtomicBool;

    use super::super::{
        AnalyzeOptions, RecordRequest, analyze_session, record_placement, record_session,
    };
    use super::{LevelReport, level_check};
    use crate::device::{CpalDuplex, OutputRouting, Progress};
    use crate::dsp::sweep::SweepSpec;
    use crate::error::{Error, Result};
    use crate::kind::DeviceKind;
    use crate::results::Analysis;
    use crate::storage::session_file::{
        SESSION_JSON, SessionFile, prepare_session_dir, write_session,
    };

    /// A live measurement, as `sweeplab measure` asks for it.
    #[derive(Debug, Clone)]
    pub struct MeasureRequest {
        pub out: PathBuf,
        pub output_device: Option<String>,
        pub input_device: Option<String>,
        pub output: OutputRouting,
        /// Input channels kept (0-based); `None`: all.
        pub input_channels: Option<Vec<u16>>,
        pub repeats: u32,
        pub spec: SweepSpec,
        pub label: Option<String>,
        pub kind: Option<DeviceKind>,
        /// Overwrite an existing session; go on after a failed level check.
        pub force: bool,
        pub level_check: bool,
        pub analyze: bool,
        /// The measurement microphone's sensitivity, applied by the analysis (dB SPL).
        pub sensitivity: Option<crate::results::SplInfo>,
        /// How the output is driven (driver sensitivity per volt and per mW).
        pub drive: Option<crate::results::DriveLevel>,
        /// Placements to record (a re-seat series); 1: one.
        pub reseats: u32,
        /// A distortion-against-level series after the sweep.
        pub levels: Option<super::super::levels::LevelSeries>,
        /// Drive the left output, then the right, each alone (`--sides`), recording both
        /// ears (input channels 0 and 1).
        pub sides: bool,
        /// The loudest SPL a level series may reach at the microphone (with a sensitivity),
        /// dB SPL; louder steps are refused unless `force`.
        pub max_spl_db: f64,
    }

    /// Refuses a level series whose loudest step would pass `req.max_spl_db` at the
    /// microphone, as the level check predicts it with the microphone's sensitivity (the
    /// tone's level scaled to the step), unless `force`. Without a sensitivity or a level
    /// check the SPL is unknown: it says so, and the series relies on its THD and clipping
    /// stops.
    fn check_series_spl(
        req: &MeasureRequest,
        series: &super::super::levels::LevelSeries,
        level: Option<&LevelReport>,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let loudest = series
            .levels_dbfs
            .last()
            .copied()
            .unwrap_or(req.spec.level_dbfs);
        let (Some(spl), Some(level)) = (&req.sensitivity, level) else {
            say(
                "warning: without --sensitivity (and the level check) the level series cannot be held under a safe SPL; it stops when the input clips or THD passes --thd-stop",
            );
            return Ok(());
        };
        let predicted = level.tone_dbfs + spl.offset_db + (loudest - req.spec.level_dbfs);
        if predicted > req.max_spl_db {
            let msg = format!(
                "the loudest step ({loudest} dBFS) would reach about {predicted:.0} dB SPL at the microphone (the level check read {:.1} dB SPL at {} dBFS), above the safe {} dB SPL (--max-spl); lower --levels, or pass --force",
                level.tone_dbfs + spl.offset_db,
                req.spec.level_dbfs,
                req.max_spl_db
            );
            if !req.force {
                return Err(Error::bad_usage("--levels", msg));
            }
            say(&format!("warning: {msg} (going on: --force)"));
        }
        Ok(())
    }

    /// What a live measurement did.
    pub struct MeasureOutcome {
        pub session: SessionFile,
        /// The level check's reading, unless it was skipped.
        pub level: Option<LevelReport>,
        /// The analysis in `out/report`, unless `analyze` was false.
        pub analysis: Option<Analysis>,
    }

    /// Runs a live measurement: refuses to overwrite a session before touching any device,
    /// opens the devices, checks the level, records (streaming to `out`), analyses into
    /// `out/report` and records the IR latency in `session.json`. `say` hears progress
    /// lines meant for the terminal; `progress` is called during the capture. A re-seat
    /// series calls `between(p, n)` before placement p of n (2 ≤ p ≤ n) to let the user put
    /// the headphone back: an error from it (Ctrl-C) stops the series, keeping the
    /// placements recorded.
    pub fn measure(
        req: &MeasureRequest,
        stop: &'static AtomicBool,
        say: &mut dyn FnMut(&str),
        progress: &mut dyn FnMut(Progress),
        between: &mut dyn FnMut(usize, usize) -> Result<()>,
    ) -> Result<MeasureOutcome> {
        let design = super::super::design_sweep(&req.spec)?;
        super::super::record::check_repeats(req.repeats)?;
        super::super::record::check_reseats(req.reseats)?;
        if req.sides {
            super::super::record::check_sides(req.reseats, req.levels.is_some())?;
        }
        // the played signal holds every repeat: refuse what this machine cannot hold before
        // any device is opened
        let channels_guess = req
            .input_channels
            .as_ref()
            .map_or(2, |c| c.len().max(1) as u16);
        super::super::memory::check(
            super::super::memory::record_bytes(
                design.total_samples() as u64,
                req.repeats,
                channels_guess,
            ),
            |m| super::super::create::too_big(&design, m),
        )?;
        if !req.force && req.out.join(SESSION_JSON).exists() {
            prepare_session_dir(&req.out, false)?;
        }
        let mut device = CpalDuplex::open(
            req.output_device.as_deref(),
            req.input_device.as_deref(),
            req.spec.sample_rate,
        )?;
        device.check_input_channels(&req.input_channels)?;
        if req.sides {
            device.check_input_channels(&Some(vec![0, 1])).map_err(|e| {
                Error::bad_usage(
                    "--sides",
                    format!(
                        "needs an input with two channels, a microphone in each ear (input channel 0 the left, 1 the right): {e}"
                    ),
                )
            })?;
        }
        // a two-sided session drives the left side first: the level check plays there; both
        // ears are recorded, whatever the input's default channel count
        let output = if req.sides {
            OutputRouting::Left
        } else {
            req.output
        };
        let input_channels = if req.sides {
            Some(vec![0, 1])
        } else {
            req.input_channels.clone()
        };
        say(&format!(
            "output: {}\ninput:  {}",
            device.output_name(),
            device.input_name()
        ));
        let mut level = None;
        if req.level_check {
            match level_check(
                &mut device,
                req.spec.sample_rate,
                req.spec.level_dbfs,
                output,
                input_channels.clone(),
                stop,
            ) {
                Ok(r) => {
                    say(&format!(
                        "level check: 1 kHz tone reads {:.1} dBFS at the input (peak {:.1} dBFS)",
                        r.tone_dbfs, r.peak_dbfs
                    ));
                    level = Some(r);
                }
                Err(e @ Error::LevelCheck(_)) if req.force => {
                    say(&format!("warning: {e} (going on: --force)"))
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(series) = &req.levels {
            check_series_spl(req, series, level.as_ref(), say)?;
        }
        let rec = RecordRequest {
            out: req.out.clone(),
            spec: req.spec,
            label: req.label.clone(),
            kind: req.kind,
            force: req.force,
            output: req.output,
            input_channels,
            repeats: req.repeats,
            extra_s: 0.5,
            model: None,
            reseats: (req.reseats > 1).then_some(req.reseats),
            sides: req.sides,
        };
        let t0 = std::time::Instant::now();
        if req.sides {
            say("left side (output channel 0)");
        }
        let mut session = record_session(&mut device, &rec, stop, progress)?;
        if req.sides {
            say("right side (output channel 1)");
            session = super::super::record::record_side(&mut device, &rec, stop, progress)?;
        }
        for p in 2..=req.reseats as usize {
            between(p, req.reseats as usize)?;
            say(&format!("placement {p} of {}", req.reseats));
            session = record_placement(&mut device, &rec, p, stop, progress)?;
        }
        if let Some(series) = &req.levels {
            super::super::levels::record_level_series(
                &rec,
                series,
                stop,
                &mut |step| record_session(&mut device, step, stop, progress),
                say,
            )?;
            session = crate::storage::session_file::read_session(&req.out)?;
        }
        let capture_wall_s = t0.elapsed().as_secs_f64();
        let played_s = design.total_samples() as f64
            * f64::from(req.repeats)
            * if req.sides { 2.0 } else { 1.0 }
            / f64::from(req.spec.sample_rate);
        say(&format!(
            "captured in {capture_wall_s:.2} s ({played_s:.2} s of stimulus); session written to {}",
            req.out.display()
        ));
        let mut analysis = None;
        if req.analyze {
            let opts = AnalyzeOptions {
                stop: Some(stop),
                sensitivity: req.sensitivity.clone(),
                drive: req.drive,
                ..AnalyzeOptions::default()
            };
            let a = analyze_session(&req.out, &req.out.join("report"), &opts)?;
            if let (Some(ci), Some(ch)) = (session.capture.as_mut(), a.channels.first()) {
                ci.ir_latency_s = ch.latency_s;
                write_session(&req.out, &session)?;
            }
            analysis = Some(a);
        }
        Ok(MeasureOutcome {
            session,
            level,
            analysis,
        })
    }
}
