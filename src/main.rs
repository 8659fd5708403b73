//! The `sweeplab` binary: parses the command line (`cli`) and turns errors into exit codes;
//! `anyhow` lives only here and in `cli`.

use std::process::ExitCode;

use clap::Parser;
use sweeplab::cli::Cli;

fn main() -> ExitCode {
    keep_large_buffers_in_the_heap();
    let cli = Cli::parse();
    match sweeplab::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(sweeplab::cli::exit_code_of(&err))
        }
    }
}

/// glibc gives every block over its mmap threshold (128 KiB at first) pages of its own and
/// returns them at `free`: an analysis allocates and frees buffers of megabytes over and
/// over, and each one is then page-faulted in again and, with two threads, unmapped with a
/// TLB shoot-down on the other core. Raising the threshold (and never trimming the heap's
/// top) lets freed buffers be reused: analyze 0.87-0.92x the time from 1 s at 48 kHz to
/// 30 s at 192 kHz stereo (farm-bench, paired), peak memory within 8 %.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_buffers_in_the_heap() {
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        // an older glibc (2.34, for one) refuses a threshold above HEAP_MAX_SIZE / 2 (32 MiB on
        // 64-bit):
        // then that one. The trim threshold only with a raised mmap threshold: set alone, it
        // stops glibc raising the mmap threshold by itself, which is slower than the defaults
        let mut raised = libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30) == 1;
        if !raised {
            let heap_half = 4 * 1024 * 1024 * std::mem::size_of::<libc::c_long>() as libc::c_int;
            raised = libc::mallopt(libc::M_MMAP_THRESHOLD, heap_half) == 1;
        }
        if raised {
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_buffers_in_the_heap() {}
