//! FIR stages of a model: the coefficient file (text, or a mono WAV) read only from inside the
//! model's own folder, its tap count bounded before it is read.

use std::path::PathBuf;

use super::*;

/// `file` as written in the model, for messages: escaped, and cut short.
fn quoted(file: &str) -> String {
    crate::text::excerpt(file, 80)
}

/// The FIR file a model names, which must lie inside the model's own folder (after symbolic
/// links are resolved): a model cannot make sweeplab read `/etc/passwd`.
fn fir_path(cx: &Ctx, w: &str, file: &str) -> Result<PathBuf> {
    let base = match cx.origin.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let path = base.join(file);
    let inside = |resolved: &Path| base.canonicalize().is_ok_and(|b| resolved.starts_with(&b));
    match path.canonicalize() {
        Ok(resolved) if inside(&resolved) => Ok(path),
        Ok(_) => Err(cx.err(format!(
            "{w}: `file` = {} is outside the model's folder; an FIR file must sit in the model's folder ({}) or below it",
            quoted(file),
            base.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(cx.err(format!(
            "{w}: `file` = {}: no such file in the model's folder ({})",
            quoted(file),
            base.display()
        ))),
        Err(e) => Err(cx.err(format!(
            "{w}: `file` = {} cannot be read: {e}",
            quoted(file)
        ))),
    }
}

pub(super) fn load_fir(cx: &Ctx, w: &str, file: &str) -> Result<Stage> {
    let path = fir_path(cx, w, file)?;
    let is_wav = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
    let too_many = |n: String| {
        cx.err(format!(
            "{w}: `file` = {} holds {n} coefficients; at most {MAX_FIR_TAPS} are supported",
            quoted(file)
        ))
    };
    let (taps, sample_rate) = if is_wav {
        let cannot = |e: Error| {
            cx.err(format!(
                "{w}: `file` = {} cannot be used: {e}",
                quoted(file)
            ))
        };
        // the header first: a huge file is refused before its samples are read
        let info = crate::storage::wav::probe_wav(&path).map_err(cannot)?;
        if info.channels != 1 {
            return Err(cx.err(format!(
                "{w}: `file` = {} has {} channels; FIR coefficients must be a mono WAV",
                quoted(file),
                info.channels
            )));
        }
        if info.frames > MAX_FIR_TAPS {
            return Err(too_many(info.frames.to_string()));
        }
        let wav = crate::storage::wav::read_wav(&path).map_err(cannot)?;
        (
            wav.channels.into_iter().next().unwrap_or_default(),
            Some(wav.sample_rate),
        )
    } else {
        let text = crate::storage::read_text(&path).map_err(|e| {
            cx.err(format!(
                "{w}: `file` = {} cannot be read: {e}",
                quoted(file)
            ))
        })?;
        let mut taps = Vec::new();
        for (ln, line) in text.lines().enumerate() {
            let t = line.split('#').next().unwrap_or("").trim();
            if t.is_empty() {
                continue;
            }
            // the coefficient file's text is never quoted: only where it is wrong
            let v: f64 = t.parse().map_err(|_| {
                cx.err(format!(
                    "{w}: `file` = {}, line {}: not a number (one coefficient per line; # starts a comment)",
                    quoted(file),
                    ln + 1
                ))
            })?;
            if !v.is_finite() {
                return Err(cx.err(format!(
                    "{w}: `file` = {}, line {}: the coefficient is not finite",
                    quoted(file),
                    ln + 1
                )));
            }
            if taps.len() == MAX_FIR_TAPS {
                return Err(too_many(format!("more than {MAX_FIR_TAPS}")));
            }
            taps.push(v);
        }
        (taps, None)
    };
    if taps.is_empty() {
        return Err(cx.err(format!(
            "{w}: `file` = {} holds no coefficients",
            quoted(file)
        )));
    }
    if taps.iter().all(|&v| v == 0.0) {
        return Err(cx.err(format!(
            "{w}: `file` = {}: all coefficients are zero (the device would pass nothing)",
            quoted(file)
        )));
    }
    Ok(Stage::Fir {
        taps,
        file: path,
        sample_rate,
    })
}
