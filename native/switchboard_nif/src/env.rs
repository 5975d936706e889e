//! Reads the emulator's environment, which `System.put_env/2` edits, instead
//! of the OS process environment, which it does not.

use std::ffi::{c_char, c_int, CString};

extern "C" {
    // From erl_nif.h; thread-safe per the erl_driver docs of erl_drv_getenv.
    fn enif_getenv(key: *const c_char, value: *mut c_char, value_size: *mut usize) -> c_int;
}

pub fn var(name: &str) -> Option<String> {
    let key = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    loop {
        let mut size = buf.len();
        // SAFETY: key is NUL-terminated; buf is writable for `size` bytes.
        let rc = unsafe { enif_getenv(key.as_ptr(), buf.as_mut_ptr().cast(), &mut size) };
        match rc {
            0 => {
                buf.truncate(size);
                return String::from_utf8(buf).ok();
            }
            // Too small: `size` now holds the length needed.
            1 if size > buf.len() && size <= 1 << 20 => buf.resize(size + 1, 0),
            _ => return None,
        }
    }
}
