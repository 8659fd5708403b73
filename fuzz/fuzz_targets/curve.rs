#![no_main]
// Drives sweeplab::testkit::fuzzing::curve; the same function replays fixtures/fuzz/curve/ in
// tests/fuzz_regressions.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _accepted = sweeplab::testkit::fuzzing::curve(data);
});
