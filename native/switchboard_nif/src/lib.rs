//! The Rustler binding of `switchboard_core`: term conversion, resources,
//! the tokio runtime and message sending. No provider logic lives here.

mod call;
mod encode;
mod env;
mod outbox;
mod registry;
mod term;

fn load(_env: rustler::Env, _info: rustler::Term) -> bool {
    switchboard_core::env::set_lookup(env::var);
    true
}

rustler::init!("Elixir.Switchboard.Native", load = load);
