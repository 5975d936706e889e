//! The one tokio runtime every call runs on. Its worker threads are not
//! scheduler threads, which is what lets them send messages.
//!
//! They run at a lower OS priority than the VM (`nice` +10 by default):
//! their work is HTTP and parsing, while a scheduler preempted by them
//! stalls every process on it. On a busy machine the BEAM keeps precedence.

use std::sync::OnceLock;

use rustler::{Env, Term};
use tokio::runtime::Runtime;

#[derive(Debug, Clone, Copy)]
struct Settings {
    /// `None`: one per core, tokio's default.
    worker_threads: Option<usize>,
    nice_increment: i32,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Reads `%{worker_threads: n | nil, nice_increment: n}` from the loader.
pub fn configure(_env: Env, load_info: Term) {
    let get = |key: &str| {
        load_info
            .map_get(rustler::types::atom::Atom::from_str(load_info.get_env(), key).ok()?)
            .ok()
    };
    let settings = Settings {
        worker_threads: get("worker_threads")
            .and_then(|t| t.decode::<usize>().ok())
            .filter(|n| (1..=256).contains(n)),
        nice_increment: get("nice_increment")
            .and_then(|t| t.decode::<i32>().ok())
            .map_or(10, |n| n.clamp(0, 19)),
    };
    let _ = SETTINGS.set(settings);
}

pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let settings = SETTINGS.get().copied().unwrap_or(Settings {
            worker_threads: None,
            nice_increment: 10,
        });
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = settings.worker_threads {
            builder.worker_threads(n);
        }
        builder
            .thread_name("switchboard")
            .on_thread_start(move || lower_priority(settings.nice_increment))
            .enable_all()
            .build()
            .expect("switchboard: cannot start the tokio runtime")
    })
}

/// Raises this thread's nice value by `increment` (Linux nice is per
/// thread). Failing to is harmless, so errors are ignored.
fn lower_priority(increment: i32) {
    if increment == 0 {
        return;
    }
    // SAFETY: plain syscalls on the calling thread.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (current + increment).min(19));
    }
}
