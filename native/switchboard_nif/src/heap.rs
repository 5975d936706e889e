//! How much the C heap holds: where Rust's allocations (the runtime, HTTP
//! and our own) go, apart from the BEAM's own allocators. The benchmarks
//! read it to split a call's memory between the VM and the NIF. Compiled
//! in only with the `bench` cargo feature.

use std::sync::OnceLock;

/// Bytes malloc has handed out and not had back, or `nil` where the C
/// library cannot say. On a dirty scheduler: glibc walks its arenas' free
/// lists under their locks to answer.
#[rustler::nif(schedule = "DirtyIo")]
fn malloc_in_use() -> Option<u64> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct.
    let info = unsafe { mallinfo2()?() };
    // uordblks: small blocks in use; hblkhd: large blocks mapped on their own.
    u64::try_from(info.uordblks + info.hblkhd).ok()
}

/// glibc's `struct mallinfo2`: ten `size_t` fields, in this order.
#[repr(C)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

#[allow(non_camel_case_types)]
type mallinfo2_fn = unsafe extern "C" fn() -> MallInfo2;

/// glibc's `mallinfo2` (2.33 and later), looked up when first needed so
/// that the NIF still loads against an older C library.
fn mallinfo2() -> Option<mallinfo2_fn> {
    static FOUND: OnceLock<Option<mallinfo2_fn>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; a non-null result is
        // glibc's mallinfo2, whose signature is `mallinfo2_fn`.
        unsafe {
            let symbol = libc::dlsym(libc::RTLD_DEFAULT, c"mallinfo2".as_ptr());
            (!symbol.is_null())
                .then(|| std::mem::transmute::<*mut libc::c_void, mallinfo2_fn>(symbol))
        }
    })
}
