#![no_main]
// Drives sweeplab::testkit::fuzzing::wav; the same function replays fixtures/fuzz/wav/ in
// tests/fuzz_regressions.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _accepted = sweeplab::testkit::fuzzing::wav(data);
});
