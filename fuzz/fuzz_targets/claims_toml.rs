#![no_main]
// Drives sweeplab::testkit::fuzzing::claims_toml; the same function replays fixtures/fuzz/claims_toml/ in
// tests/fuzz_regressions.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _accepted = sweeplab::testkit::fuzzing::claims_toml(data);
});
