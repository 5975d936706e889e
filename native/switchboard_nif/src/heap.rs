//! How much the C heap holds: where Rust's allocations (the runtime, HTTP
//! and our own) go, apart from the BEAM's own allocators. The benchmarks
//! read it to split a call's memory between the VM and the NIF.

/// Bytes malloc has handed out and not had back, or `nil` where the C
/// library cannot say (only glibc's `mallinfo2` is asked).
#[rustler::nif]
fn malloc_in_use() -> Option<u64> {
    in_use()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn in_use() -> Option<u64> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct.
    let info = unsafe { libc::mallinfo2() };
    // uordblks: small blocks in use; hblkhd: large blocks mapped on their own.
    u64::try_from(info.uordblks + info.hblkhd).ok()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn in_use() -> Option<u64> {
    None
}
