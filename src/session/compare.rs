//! `sweeplab compare`: the comparison of `crate::compare`, with session sources analysed here
//! (into `OUT/sources/<name>/`, no plots) before they are compared.

use super::{AnalyzeOptions, analyze_session};
use crate::compare::{CompareArgs, CompareResult};
use crate::error::Result;

/// Runs a comparison; `stop` (Ctrl-C) is honoured by each source's analysis; `on_source`
/// hears of each source (its position and path) as its loading starts.
pub fn compare(
    args: &CompareArgs,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
    on_source: &mut dyn FnMut(usize, &std::path::Path),
) -> Result<CompareResult> {
    crate::compare::run(
        args,
        &mut |src, dir, label, kind| {
            let opts = AnalyzeOptions {
                plots: false,
                label,
                kind,
                stop,
                ..AnalyzeOptions::default()
            };
            analyze_session(src, dir, &opts)
        },
        &|| stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst)),
        on_source,
    )
}
