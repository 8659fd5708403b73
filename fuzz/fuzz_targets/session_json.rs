#![no_main]
// Drives sweeplab::testkit::fuzzing::session_json; the same function replays fixtures/fuzz/session_json/ in
// tests/fuzz_regressions.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _accepted = sweeplab::testkit::fuzzing::session_json(data);
});
