//! The allocator behind every Rust allocation of the NIF (the runtime, HTTP,
//! ours): jemalloc, not the C library's malloc. glibc's per-thread arenas
//! kept the pages a burst of calls had touched after the calls had ended and
//! their memory was freed: 10,000 calls over HTTP/2 left 150 MB of RSS that
//! never came back (bench/README.md, "Memory after a burst"). The BEAM's own
//! allocations are not affected: only Rust's go through `#[global_allocator]`,
//! and jemalloc's symbols carry a prefix, so the VM's `malloc` stays glibc's.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts, before the first allocation (so
/// they cannot be set from `load`). jemalloc hands freed pages back to the OS
/// over `dirty_decay_ms` (its default, 10 s, kept: a shorter delay would
/// return and fault in again the pages of calls that come in waves), but only
/// while some thread allocates or frees; after a burst the runtime's threads
/// sit idle, so nothing would come back. Its background thread purges on its
/// own clock; one is enough for that (jemalloc would start one per CPU, each
/// a thread in the VM's process).
#[cfg(not(target_env = "msvc"))]
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: Options = Options(c"background_thread:true,max_background_threads:1".as_ptr());

/// A C string jemalloc reads, as its `const char *malloc_conf`.
#[cfg(not(target_env = "msvc"))]
#[repr(transparent)]
struct Options(*const std::ffi::c_char);

// SAFETY: it points to a string constant and nothing writes through it.
#[cfg(not(target_env = "msvc"))]
unsafe impl Sync for Options {}
