//! Replays fuzz inputs on the stable toolchain, through the same functions the fuzzers
//! (`fuzz/`, cargo fuzz) drive: `sweeplab::testkit::fuzzing::TARGETS`.
//!
//! - every input kept in `fixtures/fuzz/<target>/` (inputs that crashed sweeplab once, and
//!   then fixed) must now pass the target's invariants: no panic, an error is exit 2 and
//!   names the file, an error leaves no output, what is written reads back;
//! - every seed (`write_seeds`: valid WAVs, session.json, analysis.json, curves, claims,
//!   models) must be accepted all the way through, which shows that the targets reach the
//!   analysis, comparison and simulation rather than stopping at the parser.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sweeplab::testkit::fuzzing::{TARGETS, write_seeds};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The input files in `dir` (none if the folder does not exist: git keeps no empty folder,
/// and a target may have no kept input yet).
fn files(dir: &Path) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    let mut v: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    v.sort();
    v
}

/// Runs `f` on every file; returns (file, accepted) or the panics as failures.
fn replay(f: fn(&[u8]) -> bool, inputs: &[PathBuf]) -> (Vec<(PathBuf, bool)>, Vec<String>) {
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for p in inputs {
        let bytes = std::fs::read(p).unwrap();
        match catch_unwind(AssertUnwindSafe(|| f(&bytes))) {
            Ok(accepted) => ok.push((p.clone(), accepted)),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed.push(format!("{}: {msg}", p.display()));
            }
        }
    }
    (ok, failed)
}

#[test]
fn kept_fuzz_inputs_pass() {
    let root = fixtures().join("fuzz");
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, f) in TARGETS {
        let inputs = files(&root.join(name));
        total += inputs.len();
        failures.extend(replay(*f, &inputs).1);
    }
    assert!(total > 0, "no fuzz inputs found under {}", root.display());
    assert!(
        failures.is_empty(),
        "fuzz regressions:\n{}",
        failures.join("\n")
    );
    eprintln!("{total} kept fuzz inputs replayed");
}

#[test]
fn every_seed_is_accepted_all_the_way() {
    let tmp = tempfile::tempdir().unwrap();
    write_seeds(tmp.path(), &fixtures()).unwrap();
    let mut failures = Vec::new();
    for (name, f) in TARGETS {
        let inputs = files(&tmp.path().join(name));
        assert!(inputs.len() >= 2, "target {name}: {} seeds", inputs.len());
        let (ok, panics) = replay(*f, &inputs);
        failures.extend(panics);
        failures.extend(
            ok.iter()
                .filter(|(_, accepted)| !accepted)
                .map(|(p, _)| format!("{}: rejected", p.display())),
        );
    }
    assert!(failures.is_empty(), "seeds:\n{}", failures.join("\n"));
}
