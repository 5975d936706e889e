//! How long NIFs hold a normal scheduler: the count, the total, the longest
//! and how many took over 100 µs. A few atomics per call; read by the
//! benchmarks through `Switchboard.Native.scheduler_timing/1`.
//!
//! With `scheduler_timing_detail(true)` each NIF call also reads its
//! thread's rusage and CPU clock before and after (four syscalls), so a
//! call over 100 µs can be told apart: the OS preempted the scheduler
//! thread (involuntary context switch), the thread slept (voluntary switch,
//! e.g. on a lock), the kernel mapped fresh memory for it (page faults), or
//! it really computed that long (none of these). Off by default: the
//! syscalls cost about as much as a short NIF call itself.
//!
//! Compiled in only with the `bench` cargo feature (`make bench` sets
//! `SWITCHBOARD_NIF_FEATURES=bench`): without it `start()` returns a
//! zero-sized value with no drop, so the NIFs carry no timing code, and the
//! two NIFs that read the figures do not exist.

/// Without the `bench` feature: nothing is measured.
#[cfg(not(feature = "bench"))]
pub struct Timed;

/// Without the `bench` feature: compiles to nothing.
#[cfg(not(feature = "bench"))]
#[inline(always)]
pub fn start() -> Timed {
    Timed
}

#[cfg(feature = "bench")]
pub use measured::start;

#[cfg(feature = "bench")]
mod measured {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Instant;

    use rustler::NifMap;

    const SLOW_NS: u64 = 100_000;

    static DETAIL: AtomicBool = AtomicBool::new(false);
    static CALLS: AtomicU64 = AtomicU64::new(0);
    static TOTAL_NS: AtomicU64 = AtomicU64::new(0);
    static LONGEST_NS: AtomicU64 = AtomicU64::new(0);
    static SLOW: AtomicU64 = AtomicU64::new(0);
    static LONGEST_CPU_NS: AtomicU64 = AtomicU64::new(0);
    static SLOW_PREEMPTED: AtomicU64 = AtomicU64::new(0);
    static SLOW_SLEPT: AtomicU64 = AtomicU64::new(0);
    static SLOW_FAULTED: AtomicU64 = AtomicU64::new(0);

    /// Records the time from its creation to its drop.
    pub struct Timed {
        start: Instant,
        usage: Option<Usage>,
    }

    pub fn start() -> Timed {
        Timed {
            start: Instant::now(),
            usage: DETAIL.load(Ordering::Relaxed).then(Usage::now).flatten(),
        }
    }

    /// A thread's CPU time and context switches so far.
    struct Usage {
        cpu_ns: u64,
        voluntary: i64,
        involuntary: i64,
        page_faults: i64,
    }

    impl Usage {
        fn now() -> Option<Usage> {
            // rusage's CPU times move in scheduler ticks (4 ms here); the
            // thread CPU clock is exact.
            // SAFETY: both calls only write the struct they are given.
            let (usage, cpu) = unsafe {
                let mut usage: libc::rusage = std::mem::zeroed();
                let mut cpu: libc::timespec = std::mem::zeroed();
                let ok = libc::getrusage(libc::RUSAGE_THREAD, &mut usage) == 0
                    && libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut cpu) == 0;
                ok.then_some((usage, cpu))
            }?;
            Some(Usage {
                cpu_ns: (cpu.tv_sec as u64) * 1_000_000_000 + cpu.tv_nsec as u64,
                voluntary: usage.ru_nvcsw,
                involuntary: usage.ru_nivcsw,
                page_faults: usage.ru_minflt + usage.ru_majflt,
            })
        }
    }

    /// Raises `max` to `value`. A read first: a new maximum is rare, and every
    /// write would bounce the cache line between the schedulers' cores.
    fn raise(max: &AtomicU64, value: u64) {
        if value > max.load(Ordering::Relaxed) {
            max.fetch_max(value, Ordering::Relaxed);
        }
    }

    impl Drop for Timed {
        fn drop(&mut self) {
            let ns = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            CALLS.fetch_add(1, Ordering::Relaxed);
            TOTAL_NS.fetch_add(ns, Ordering::Relaxed);
            raise(&LONGEST_NS, ns);
            let slow = ns > SLOW_NS;
            if slow {
                SLOW.fetch_add(1, Ordering::Relaxed);
            }
            // Only with detail on: reading the usage is two syscalls.
            let Some(before) = self.usage.take() else {
                return;
            };
            let Some(after) = Usage::now() else {
                return;
            };
            raise(&LONGEST_CPU_NS, after.cpu_ns.saturating_sub(before.cpu_ns));
            if slow && after.involuntary > before.involuntary {
                SLOW_PREEMPTED.fetch_add(1, Ordering::Relaxed);
            } else if slow && after.voluntary > before.voluntary {
                SLOW_SLEPT.fetch_add(1, Ordering::Relaxed);
            } else if slow && after.page_faults > before.page_faults {
                SLOW_FAULTED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// What `scheduler_timing/1` returns. The last three are counted only
    /// while detail is on.
    #[derive(NifMap)]
    struct Figures {
        calls: u64,
        total_ns: u64,
        longest_ns: u64,
        over_100us: u64,
        longest_cpu_ns: u64,
        over_100us_preempted: u64,
        over_100us_slept: u64,
        over_100us_page_faulted: u64,
    }

    /// The figures since the last reset.
    #[rustler::nif]
    fn scheduler_timing(reset: bool) -> Figures {
        let all = [
            &CALLS,
            &TOTAL_NS,
            &LONGEST_NS,
            &SLOW,
            &LONGEST_CPU_NS,
            &SLOW_PREEMPTED,
            &SLOW_SLEPT,
            &SLOW_FAULTED,
        ];
        let [calls, total_ns, longest_ns, over_100us, longest_cpu_ns, preempted, slept, faulted] =
            all.map(|counter| {
                if reset {
                    counter.swap(0, Ordering::Relaxed)
                } else {
                    counter.load(Ordering::Relaxed)
                }
            });
        Figures {
            calls,
            total_ns,
            longest_ns,
            over_100us,
            longest_cpu_ns,
            over_100us_preempted: preempted,
            over_100us_slept: slept,
            over_100us_page_faulted: faulted,
        }
    }

    /// Turns the per-call rusage sampling on or off.
    #[rustler::nif]
    fn scheduler_timing_detail(on: bool) -> rustler::Atom {
        DETAIL.store(on, Ordering::Relaxed);
        rustler::types::atom::ok()
    }
}
