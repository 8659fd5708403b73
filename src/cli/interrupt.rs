//! Ctrl-C: one flag, set by the handler and polled by every capture loop and analysis step.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by Ctrl-C; the handler is installed on first use.
pub fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    });
    &STOP
}
