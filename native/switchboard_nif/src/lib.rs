//! The Rustler binding of `switchboard_core`: term conversion, resources,
//! the tokio runtime and message sending. No provider logic lives here.

mod call;
mod encode;
mod registry;
mod term;

rustler::init!("Elixir.Switchboard.Native");
