//! Environment variables as the host sees them. On the BEAM, `System.put_env/2`
//! changes the emulator's own copy of the environment, not the process's,
//! so the NIF installs a lookup that reads the emulator's copy.

use std::sync::OnceLock;

pub type Lookup = fn(&str) -> Option<String>;

static LOOKUP: OnceLock<Lookup> = OnceLock::new();

/// Installs the lookup used for API keys; the first one installed wins.
pub fn set_lookup(lookup: Lookup) {
    let _ = LOOKUP.set(lookup);
}

/// The variable's value, `None` when unset or empty.
pub fn var(name: &str) -> Option<String> {
    let value = match LOOKUP.get() {
        Some(lookup) => lookup(name),
        None => std::env::var(name).ok(),
    };
    value.filter(|v| !v.trim().is_empty())
}
