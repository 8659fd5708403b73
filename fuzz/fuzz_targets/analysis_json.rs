#![no_main]
// Drives sweeplab::testkit::fuzzing::analysis_json; the same function replays fixtures/fuzz/analysis_json/ in
// tests/fuzz_regressions.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _accepted = sweeplab::testkit::fuzzing::analysis_json(data);
});
