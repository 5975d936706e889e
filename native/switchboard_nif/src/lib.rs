//! The Rustler binding of `switchboard_core`: term conversion, resources,
//! the tokio runtime and message sending. No provider logic lives here.

mod call;
mod encode;
mod env;
mod heap;
mod outbox;
mod registry;
mod runtime;
mod term;
mod timing;

fn load(env: rustler::Env, load_info: rustler::Term) -> bool {
    switchboard_core::env::set_lookup(env::var);
    runtime::configure(env, load_info);
    true
}

rustler::init!("Elixir.Switchboard.Native", load = load);
