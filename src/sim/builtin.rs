//! The built-in models (`fixtures/models/<name>.toml`, embedded at build time) and `--model`
//! resolution (a built-in name or a model file).

use std::path::{Path, PathBuf};

use super::model::DeviceModel;
use crate::error::{Error, Result};

/// Names of the built-in models, in demo order.
pub const BUILTIN_NAMES: [&str; 5] = [
    "studio-headphones",
    "gaming-headset-speaker",
    "gaming-headset-mic",
    "usb-mic",
    "loopback",
];

fn builtin_text(name: &str) -> Option<&'static str> {
    Some(match name {
        "studio-headphones" => include_str!("../../fixtures/models/studio-headphones.toml"),
        "gaming-headset-speaker" => {
            include_str!("../../fixtures/models/gaming-headset-speaker.toml")
        }
        "gaming-headset-mic" => include_str!("../../fixtures/models/gaming-headset-mic.toml"),
        "usb-mic" => include_str!("../../fixtures/models/usb-mic.toml"),
        "loopback" => include_str!("../../fixtures/models/loopback.toml"),
        _ => return None,
    })
}

/// A built-in model by name (`fixtures/models/<name>.toml`, embedded at build time).
pub fn builtin(name: &str) -> Option<DeviceModel> {
    let text = builtin_text(name)?;
    let origin = PathBuf::from(format!("builtin:{name}"));
    // the embedded files are parsed by the tests; a failure here is a build defect
    Some(
        DeviceModel::from_toml_str(text, &origin)
            .unwrap_or_else(|e| panic!("built-in model {name} is invalid: {e}")),
    )
}

/// All built-in models, in demo order.
pub fn builtin_models() -> Vec<(&'static str, DeviceModel)> {
    BUILTIN_NAMES
        .iter()
        .filter_map(|&n| builtin(n).map(|m| (n, m)))
        .collect()
}

/// A model from a `--model` argument: a built-in name, or a path to a TOML file.
pub fn resolve(spec: &str) -> Result<DeviceModel> {
    let path = Path::new(spec);
    if path.exists() || spec.ends_with(".toml") || spec.contains(std::path::MAIN_SEPARATOR) {
        return DeviceModel::load(path);
    }
    builtin(spec).ok_or_else(|| {
        Error::bad_usage(
            "--model",
            format!(
                "{spec:?} is neither a model file nor a built-in model ({})",
                BUILTIN_NAMES.join(", ")
            ),
        )
    })
}
