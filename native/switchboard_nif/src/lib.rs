//! The Rustler binding of `switchboard_core`: term conversion, resources,
//! the tokio runtime and message sending. No provider logic lives here.

mod allocator;
mod call;
mod datetime;
mod encode;
mod env;
mod events;
mod health;
#[cfg(feature = "bench")]
mod heap;
mod outbox;
mod registry;
mod runtime;
mod term;
mod timing;

/// Runtime settings are not read here: `Switchboard.Application` passes
/// them when the application starts (`runtime_configure/1`), after a
/// release has applied its runtime configuration.
fn load(_env: rustler::Env, _load_info: rustler::Term) -> bool {
    switchboard_core::env::set_lookup(env::var);
    true
}

rustler::init!("Elixir.Switchboard.Native", load = load);
