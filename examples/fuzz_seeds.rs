//! Writes the fuzzers' seed corpus: `cargo run --release --example fuzz_seeds -- DIR`
//! (`fuzz/run.sh` does this), giving `DIR/<target>/…` for every target of
//! `sweeplab::testkit::fuzzing::TARGETS`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/seeds".into()),
    );
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    sweeplab::testkit::fuzzing::write_seeds(&root, &fixtures)?;
    println!("seeds written to {}", root.display());
    Ok(())
}
