//! A scriptable mock LLM provider server.
//!
//! It speaks the real wire formats of OpenAI Chat Completions
//! (`…/chat/completions`) and Anthropic Messages (`…/messages`), streaming and
//! not, and plays scripted faults: error statuses with the providers' own
//! error bodies, delays, dropped connections, truncated bodies, stalled or
//! broken streams, byte-split streams and recorded-traffic replay.
//!
//! # Scenarios
//!
//! A path may start with `/s/<scenario>`; without it the scenario is
//! `default`. Each scenario has a FIFO queue of steps; each provider request
//! pops the front step (or gets the default success when the queue is empty)
//! and is appended to the scenario's request log. Steps that only send bytes
//! (`body`, `replay_*`, `drop`) also answer requests to paths no provider
//! format matches; other paths get a 404 in OpenAI's error shape.
//!
//! # Steps
//!
//! Maps with string keys, all optional: `status`, `body`, `content_type`,
//! `headers`, `delay_ms`, `drop`, `truncate_at`, `malformed`, `content`,
//! `finish_reason`, `usage` (`input_tokens`, `output_tokens`,
//! `cached_input_tokens`), and for streamed answers `chunks`,
//! `chunk_delay_ms`, `stall_after`, `error_after`, `error_type`,
//! `truncate_after`, `split_bytes`; replays `replay_cassette`, `replay_file`,
//! `replay_chunks_b64`; and `repeat` (`-1` for ever). Unknown keys are
//! rejected. `split_bytes` pieces are 1 ms apart so each arrives in its own
//! read.
//!
//! # Control API
//!
//! Bodies are Erlang External Term Format (`application/x-erlang-binary`):
//!
//! * `PUT /_mock/scenarios/<id>`: a list of step maps (or `%{"steps" => list}`);
//!   replaces the queue and clears the log. `204`.
//! * `GET /_mock/scenarios/<id>/requests`: a list of maps with binary keys
//!   `"method"`, `"path"` (without the scenario prefix), `"query"` (`""` when
//!   absent), `"headers"` (list of `{name, value}` tuples, names lowercased, in
//!   arrival order), `"body"`, `"json"` (parsed body or `nil`), `"outcome"`
//!   (`"pending"`, `"completed"`, `"client_disconnected"`, `"dropped"`),
//!   `"status"` (the status sent, or `nil`), `"received_at_us"`,
//!   `"finished_at_us"` (or `nil`); times are microseconds since server start.
//! * `DELETE /_mock/scenarios/<id>`: forgets the scenario. `204`.
//! * `POST /_mock/blackhole`: `%{"port" => port}`, a loopback port whose
//!   `connect()` never completes.
//! * `GET /_mock/cassette?path=<url-encoded path>`: a JSON file as a term.
//! * `GET /_mock/health`: `200 ok`.
//!
//! Errors are `text/plain` with a 4xx/5xx status.
//!
//! # Outcomes
//!
//! `dropped` covers every response the script cut short on purpose (`drop`,
//! `truncate_at`, `truncate_after`). `client_disconnected` is recorded when the
//! peer closes while the mock is delaying, stalling or streaming: hyper watches
//! the socket for EOF while a response is pending and drops the response
//! future or body, whose guard records the outcome.

mod blackhole;
mod body;
mod control;
mod etf;
mod plan;
mod provider;
mod replay;
mod server;
mod state;
mod step;

pub use server::{serve, serve_with, MockServer};
pub use state::{Config, Outcome, Record, DEFAULT_MAX_RECORDS};
