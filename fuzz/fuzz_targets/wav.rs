#![no_main]
// Drives sweeplab::fuzzing::wav; the same function replays fixtures/fuzz/wav/ in
// tests/fuzz_regressions.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _accepted = sweeplab::fuzzing::wav(data);
});
