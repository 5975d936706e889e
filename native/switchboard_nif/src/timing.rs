//! How long NIFs hold a normal scheduler: the count, the longest, and how
//! many took over 100 µs. A few atomics per call; read by the benchmarks
//! through `Switchboard.Native.scheduler_timing/1`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static CALLS: AtomicU64 = AtomicU64::new(0);
static LONGEST_NS: AtomicU64 = AtomicU64::new(0);
static OVER_100_US: AtomicU64 = AtomicU64::new(0);

/// Records the time from its creation to its drop.
pub struct Timed(Instant);

pub fn start() -> Timed {
    Timed(Instant::now())
}

impl Drop for Timed {
    fn drop(&mut self) {
        let ns = u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        CALLS.fetch_add(1, Ordering::Relaxed);
        // A read first: a new maximum is rare, and every write would bounce
        // the cache line between the schedulers' cores.
        if ns > LONGEST_NS.load(Ordering::Relaxed) {
            LONGEST_NS.fetch_max(ns, Ordering::Relaxed);
        }
        if ns > 100_000 {
            OVER_100_US.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `{calls, longest_ns, over_100_us}` since the last reset.
#[rustler::nif]
fn scheduler_timing(reset: bool) -> (u64, u64, u64) {
    let figures = (
        CALLS.load(Ordering::Relaxed),
        LONGEST_NS.load(Ordering::Relaxed),
        OVER_100_US.load(Ordering::Relaxed),
    );
    if reset {
        CALLS.store(0, Ordering::Relaxed);
        LONGEST_NS.store(0, Ordering::Relaxed);
        OVER_100_US.store(0, Ordering::Relaxed);
    }
    figures
}
