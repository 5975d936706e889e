//! The one tokio runtime every call runs on. Its worker threads are not
//! scheduler threads, which is what lets them send messages.
//!
//! It starts on first use, with the settings `Switchboard.Application`
//! passed to `runtime_configure/1` when the application started (so a
//! release's `config/runtime.exs` applies), or with the defaults if a call
//! comes first: one worker thread per core, at the VM's own OS priority.
//! `nice_increment` lowers the priority of the runtime's threads, for
//! machines where they compete with the schedulers for few cores.

use std::sync::{Mutex, MutexGuard, OnceLock};

use rustler::{Encoder, Env, NifMap, Term};
use tokio::runtime::Runtime;

rustler::atoms! {
    already_started,
    invalid_settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, NifMap)]
struct Settings {
    /// `None`: one per core, tokio's default.
    worker_threads: Option<usize>,
    /// Added to the threads' nice value, 0 to 19.
    nice_increment: i32,
}

const DEFAULTS: Settings = Settings {
    worker_threads: None,
    nice_increment: 0,
};

struct State {
    /// What the runtime will start with; once it has, what it started
    /// with (`worker_threads` then the actual count).
    settings: Settings,
    /// Set, under the lock, by the thread that builds the runtime.
    started: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    settings: DEFAULTS,
    started: false,
});
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        // Held while building, so `runtime_configure` either lands before
        // the runtime reads the settings or sees it started.
        let mut state = state();
        state.started = true;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = state.settings.worker_threads {
            builder.worker_threads(n);
        }
        let nice = state.settings.nice_increment;
        let runtime = builder
            .thread_name("switchboard")
            .on_thread_start(move || lower_priority(nice))
            .enable_all()
            .build()
            .expect("switchboard: cannot start the tokio runtime");
        state.settings.worker_threads = Some(runtime.metrics().num_workers());
        runtime
    })
}

/// Sets what the runtime starts with: `%{worker_threads: n | nil,
/// nice_increment: n}`. `{:error, :already_started}` once a call has
/// started it (the settings in force stay), `{:error, :invalid_settings}`
/// out of range (`Switchboard.Application` checks first).
#[rustler::nif]
fn runtime_configure(env: Env, new: Settings) -> Term {
    let valid = new.worker_threads.is_none_or(|n| (1..=256).contains(&n))
        && (0..=19).contains(&new.nice_increment);
    if !valid {
        return (rustler::types::atom::error(), invalid_settings()).encode(env);
    }
    let mut state = state();
    if state.started {
        return (rustler::types::atom::error(), already_started()).encode(env);
    }
    state.settings = new;
    rustler::types::atom::ok().encode(env)
}

/// What `runtime_settings/0` returns.
#[derive(NifMap)]
struct InForce {
    /// Once started, the number of worker threads running; before, the
    /// number configured (`nil`: one per core).
    worker_threads: Option<usize>,
    nice_increment: i32,
    started: bool,
}

/// The settings in force, and whether the runtime has started.
#[rustler::nif]
fn runtime_settings() -> InForce {
    let state = state();
    InForce {
        worker_threads: state.settings.worker_threads,
        nice_increment: state.settings.nice_increment,
        started: state.started,
    }
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
