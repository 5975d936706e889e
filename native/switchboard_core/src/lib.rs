//! Switchboard's core: the client registry, providers, strategies, retry
//! policies and timeouts, with no binding code. The NIF crate turns BEAM
//! terms into [`serde_json::Value`]s and [`CallRequest`]s and runs
//! [`execute`] on its tokio runtime.
//!
//! Modules depend one way only, each on those before it:
//! `error`, `secret`, `value`, `weak_map`, `media` -> `tools`, `reasoning` -> `prompt`, `response`, `wire`
//! -> `roles`, `pricing`, `structured`, `framing`, `env` -> `auth` -> `providers` -> `retry`, `config`
//! -> `engine`.

pub mod auth;
pub mod config;
pub mod engine;
pub mod env;
pub mod error;
pub mod framing;
pub mod generation;
pub mod media;
pub mod pricing;
pub mod prompt;
pub mod providers;
pub mod reasoning;
pub mod response;
pub mod retry;
pub mod roles;
pub mod secret;
pub mod structured;
pub mod tools;
pub mod value;
pub mod weak_map;
pub mod wire;

pub use config::Registry;
pub use engine::{execute, CallRequest, StreamSink};
pub use error::{Error, ErrorKind};
pub use prompt::{parse_prompt, parse_prompt_owned, Message};
pub use reasoning::{Dialect, ReasoningPart};
pub use response::{Attempt, Failure, Finish, Response, Usage};
pub use tools::{Tool, ToolCall, ToolCallStart, ToolChoice};
