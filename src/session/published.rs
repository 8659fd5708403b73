//! Published measurements of real products that ship with sweeplab (`fixtures/published/`,
//! each with its source, commit and licence beside it), so that the demo's verdicts about
//! real headsets and headphones can rest on real data, not only on the simulated rig.

use std::path::{Path, PathBuf};

use crate::compare::{CompareArgs, CompareResult};
use crate::error::Result;
use crate::kind::DeviceKind;
use crate::storage::session_file::prepare_output_dir;

/// One published curve: file name, device, kind, text.
pub struct PublishedCurve {
    pub file: &'static str,
    pub label: &'static str,
    pub kind: DeviceKind,
    pub text: &'static str,
}

macro_rules! rtings {
    ($file:literal, $label:literal, $kind:ident) => {
        PublishedCurve {
            file: $file,
            label: $label,
            kind: DeviceKind::$kind,
            text: include_str!(concat!("../../fixtures/published/rtings/", $file)),
        }
    };
}

/// Rtings' measurements on one rig (HMS II.3), as AutoEq publishes them (MIT licence);
/// see `fixtures/published/rtings/README.md`.
pub const RTINGS: [PublishedCurve; 8] = [
    rtings!("rtings-hyperx-cloud-ii.csv", "HyperX Cloud II", Headset),
    rtings!(
        "rtings-steelseries-arctis-7.csv",
        "SteelSeries Arctis 7",
        Headset
    ),
    rtings!("rtings-logitech-g-pro-x.csv", "Logitech G Pro X", Headset),
    rtings!(
        "rtings-corsair-virtuoso-rgb-wireless-se.csv",
        "Corsair Virtuoso SE",
        Headset
    ),
    rtings!(
        "rtings-sennheiser-hd-600.csv",
        "Sennheiser HD 600",
        Headphones
    ),
    rtings!(
        "rtings-beyerdynamic-dt-770-pro.csv",
        "Beyerdynamic DT 770 Pro",
        Headphones
    ),
    rtings!("rtings-akg-k371.csv", "AKG K371", Headphones),
    rtings!("rtings-sony-wh-1000xm4.csv", "Sony WH-1000XM4", Headphones),
];

/// The licence the published curves travel with.
pub const RTINGS_LICENSE: &str = include_str!("../../fixtures/published/rtings/LICENSE");
/// Where they come from.
pub const RTINGS_README: &str = include_str!("../../fixtures/published/rtings/README.md");

/// Writes the published curves (with their licence and sources) into `dir` and compares them
/// into `out`: the built-in claims judged on real products.
pub fn compare_published(
    dir: &Path,
    out: &Path,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
) -> Result<CompareResult> {
    let _dir = prepare_output_dir(dir)?;
    let mut sources: Vec<PathBuf> = Vec::new();
    for c in &RTINGS {
        let p = dir.join(c.file);
        crate::storage::write_atomic(&p, c.text.as_bytes())?;
        sources.push(p);
    }
    crate::storage::write_atomic(&dir.join("LICENSE"), RTINGS_LICENSE.as_bytes())?;
    crate::storage::write_atomic(&dir.join("README.md"), RTINGS_README.as_bytes())?;
    let mut args = CompareArgs::new(sources, out);
    args.labels = RTINGS.iter().map(|c| c.label.to_string()).collect();
    args.kinds = RTINGS.iter().map(|c| Some(c.kind)).collect();
    super::compare(&args, stop, &mut |_, _| {})
}
