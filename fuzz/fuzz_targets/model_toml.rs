#![no_main]
// Drives sweeplab::testkit::fuzzing::model_toml; the same function replays fixtures/fuzz/model_toml/ in
// tests/fuzz_regressions.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _accepted = sweeplab::testkit::fuzzing::model_toml(data);
});
