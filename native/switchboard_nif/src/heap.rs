//! How much the NIF's heap holds: where Rust's allocations (the runtime,
//! HTTP and our own) go, apart from the BEAM's own allocators. The
//! benchmarks read it to split a call's memory between the VM and the NIF,
//! and to tell memory still in use from memory the allocator keeps after it
//! was freed. Compiled in only with the `bench` cargo feature.

/// Bytes jemalloc has handed out and not had back (`stats.allocated`), or
/// `nil` where it cannot say. On a dirty scheduler: refreshing jemalloc's
/// statistics merges every arena's under their locks.
#[rustler::nif(schedule = "DirtyIo")]
fn malloc_in_use() -> Option<u64> {
    stats::read(stats::Figure::Allocated)
}

/// Bytes of jemalloc's pages resident in memory (`stats.resident`: in use,
/// or freed and not yet given back to the OS), or `nil` where it cannot say.
#[rustler::nif(schedule = "DirtyIo")]
fn malloc_held() -> Option<u64> {
    stats::read(stats::Figure::Resident)
}

#[cfg(not(target_env = "msvc"))]
mod stats {
    use tikv_jemalloc_ctl::{epoch, stats};

    pub enum Figure {
        Allocated,
        Resident,
    }

    pub fn read(figure: Figure) -> Option<u64> {
        // jemalloc caches its statistics until the epoch advances.
        epoch::advance().ok()?;
        let bytes = match figure {
            Figure::Allocated => stats::allocated::read(),
            Figure::Resident => stats::resident::read(),
        };
        bytes.ok().and_then(|n| u64::try_from(n).ok())
    }
}

#[cfg(target_env = "msvc")]
mod stats {
    pub enum Figure {
        Allocated,
        Resident,
    }

    pub fn read(_: Figure) -> Option<u64> {
        None
    }
}
