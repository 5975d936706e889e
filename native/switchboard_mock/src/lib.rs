//! A scriptable mock LLM provider server.
//!
//! It speaks the real wire formats of OpenAI Chat Completions, the Responses
//! API, Anthropic Messages, Gemini (on the Gemini API and on Vertex AI) and
//! Claude on Vertex AI, streaming and not, and plays scripted faults: error
//! statuses with the providers' own error bodies, delays, dropped
//! connections, truncated bodies, stalled or broken streams, byte-split
//! streams and recorded-traffic replay. It also plays Google's OAuth token
//! endpoint and the GCE metadata server (see *Google credentials*), and AWS
//! Bedrock Converse and ConverseStream (binary event-stream frames) with
//! SigV4 verification and the AWS credential endpoints (see *AWS Bedrock*).
//!
//! # Paths
//!
//! Each provider is served on its real paths only, so a client whose
//! `base_url` is wrong fails as it would in production:
//!
//! * `POST /v1/chat/completions` (OpenAI, Ollama, OpenAI-compatible),
//!   `/api/v1/chat/completions` (OpenRouter),
//!   `/openai/deployments/{deployment}/chat/completions` and
//!   `/openai/v1/chat/completions` (Azure OpenAI);
//! * `POST /v1/responses` and `/openai/v1/responses` (Responses API);
//! * `POST /v1/messages` (Anthropic);
//! * `POST /v1beta/models/{model}:generateContent` and
//!   `:streamGenerateContent`, also under `/v1` (Gemini API);
//! * `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`
//!   and `:streamGenerateContent`, `…/publishers/anthropic/models/{m}:rawPredict`
//!   and `:streamRawPredict`, express mode's `/v1/publishers/google/models/{m}:…`,
//!   each also under `/v1beta1` (Vertex AI);
//! * `POST /model/{model}/converse` and `/converse-stream` (Bedrock);
//! * `POST /token` (also `/o/oauth2/token`, `/oauth2/v4/token`) and `GET
//!   /computeMetadata/v1/…` (Google credentials), and the AWS credential
//!   endpoints (`aws::credentials`);
//! * `GET /media/{name}`: files for `media_url_handler` to fetch, shaped by
//!   the query (content type, body, status, redirects, size, stall; see
//!   `media`), logged but using no step.
//!
//! Any other path is a 404, and a served path with another method a 405
//! (with `Allow`); the body names the paths served, and a likely mistake
//! (`/v1/v1/messages`: a `base_url` with `/v1` too many), in one JSON shape
//! every client reads (`{"error": {"message", "type", "code", "status"},
//! "message"}`). Such requests are logged (so a test can see the path its
//! client used) but use no step.
//!
//! # Scenarios
//!
//! A path may start with `/s/<scenario>`; without it the scenario is
//! `default`. Each scenario has a FIFO queue of steps; each provider request
//! pops the front step (or gets the default success when the queue is empty)
//! and is appended to the scenario's request log.
//!
//! # Files
//!
//! Replay steps and the control API's file readers read only under the
//! root the mock was started with (`--root DIR`, `Config::root`): a path is
//! relative to it, or absolute inside it once symlinks are followed; a path
//! with `..` is refused, and without a root every file is.
//!
//! # Steps
//!
//! Maps with string keys, all optional: `status`, `body`, `content_type`,
//! `headers`, `delay_ms`, `drop`, `truncate_at`, `malformed`, `content`,
//! `reasoning` (Bedrock: a reasoning block before the text), `finish_reason`,
//! `usage` (`input_tokens`, `output_tokens`, `cached_input_tokens`,
//! `cache_creation_input_tokens`), and for streamed answers `chunks`,
//! `chunk_delay_ms`, `stall_after`, `error_after`, `error_type`,
//! `truncate_after`, `split_bytes`; chaos faults (`chaos`) `corrupt_at` (flip
//! one byte of the body) and `endless` (the head, then filler for ever);
//! replays `replay_cassette`, `replay_file`
//! (files under the root, see *Files*),
//! `replay_chunks_b64`; and `repeat` (`-1` for ever). Unknown keys are
//! rejected. `split_bytes` pieces are 1 ms apart so each arrives in its own
//! read.
//!
//! Gemini and Vertex: `finish_reason` is Google's (`"STOP"` by default,
//! `"MAX_TOKENS"`, `"SAFETY"`, …); `thoughts` adds a thought part
//! (`"thought": true`) before the answer; `block_reason` answers with
//! `promptFeedback.blockReason` and no candidates; `usage.thoughts_tokens`
//! sets `thoughtsTokenCount`; `status` errors carry Google's `status` string
//! for the HTTP status unless `error_type` names one (`"FAILED_PRECONDITION"`);
//! `error_after` sends `data: {"error": {"code", "message", "status"}}` with
//! the status from `error_type` (default `"INTERNAL"`, code 500) and ends the
//! body. A stream is one CRLF-framed `data:` event per delta, the last
//! carrying `finishReason` and the full `usageMetadata`, and no end sentinel;
//! without `?alt=sse` it is one JSON array instead. The model is the one in
//! the URL. Claude on Vertex answers as Anthropic does; its errors take
//! Google's shape for 401, 403, 404 and 429 and Anthropic's otherwise
//! (`error_type` in capitals forces Google's, otherwise names Anthropic's type).
//!
//! # Google credentials
//!
//! * `POST …/token` is an OAuth 2.0 token endpoint. `grant_type=
//!   urn:ietf:params:oauth:grant-type:jwt-bearer` needs an `assertion` signed
//!   RS256 by a service account registered with the mock (control API below,
//!   `--google-service-account FILE`, or [`MockServer::add_google_key`]),
//!   with `iss` its email, `aud` `https://oauth2.googleapis.com/token`, `scope`
//!   containing `https://www.googleapis.com/auth/cloud-platform`, and `iat`,
//!   `exp` at most an hour apart around now (5 minutes' skew). A bad
//!   assertion gets `400 {"error": "invalid_grant", "error_description": …}`
//!   (`invalid_scope` for the scope). `grant_type=refresh_token` needs
//!   `client_id`, `client_secret` and `refresh_token`, any values.
//! * `GET /computeMetadata/v1/instance/service-accounts/default/token` (also
//!   `…/default/email`, `/project/project-id`, `/project/numeric-project-id`)
//!   answers only requests with `Metadata-Flavor: Google`, else 403.
//!
//! Both answer `{"access_token": "ya29.mock-<n>", "expires_in": 3599,
//! "token_type": "Bearer"}`, `n` counting the scenario's requests to these
//! endpoints from 1 (a new script restarts it). They are logged and take
//! steps like any request: `status` (OAuth error bodies; `error_type` sets
//! the `error` code), `delay_ms`, `drop`, `body`, `malformed`, and
//! `access_token` / `expires_in` to shape the token. Give them a scenario of
//! their own (a `token_uri` of `…/s/<id>/token`, `GCE_METADATA_HOST` of
//! `127.0.0.1:PORT/s/<id>`) so their steps and the API's do not interleave.
//!
//! # AWS Bedrock
//!
//! Errors carry `x-amzn-errortype: <Type>:http://internal.amazon.com/coral/<ns>/`
//! and `{"message": ...}`; the type follows the status (429 Throttling, 503
//! ServiceUnavailable, 400 Validation, 403 AccessDenied, 404 ResourceNotFound,
//! 408 ModelTimeout, 424 ModelError, other 5xx InternalServer) or is named by
//! `error_type` (either spelling, `ThrottlingException` or
//! `throttlingException`), which alone implies the type's status. In a stream,
//! `error_after` + `error_type` send a `:message-type: exception` frame
//! (default `modelStreamErrorException`); `truncate_after` cuts the stream
//! inside the next frame; `malformed` sends a frame with a bad CRC.
//!
//! A scenario checks `Authorization` on Bedrock requests once it has an AWS
//! configuration (`PUT /_mock/scenarios/<id>/aws`, see `aws::AwsConfig`):
//! SigV4 signatures are recomputed with `aws-sigv4` over the request as
//! received, Bedrock API keys compared; a failure is a 403 as Bedrock sends
//! it, is logged with `"auth" => "rejected"` and uses no step. The same
//! scenario (or any other) serves the STS web-identity, container and IMDSv2
//! credential endpoints (`aws::credentials`), whose fresh credentials the
//! verifier accepts until they expire.
//!
//! # Control API
//!
//! Bodies are Erlang External Term Format (`application/x-erlang-binary`):
//!
//! * `PUT /_mock/scenarios/<id>`: a list of step maps (or `%{"steps" => list}`,
//!   with `"cycle" => true` to start the list again after its last step);
//!   replaces the queue and clears the log. `204`.
//! * `GET /_mock/scenarios/<id>/requests`: a list of maps with binary keys
//!   `"method"`, `"path"` (without the scenario prefix), `"query"` (`""` when
//!   absent), `"headers"` (list of `{name, value}` tuples, names lowercased, in
//!   arrival order), `"body"`, `"json"` (parsed body or `nil`), `"outcome"`
//!   (`"pending"`, `"completed"`, `"client_disconnected"`, `"dropped"`),
//!   `"status"` (the status sent, or `nil`), `"auth"` (`"sigv4"`, `"bearer"`,
//!   `"rejected"`, or `nil` when not checked), `"received_at_us"`,
//!   `"finished_at_us"` (or `nil`); times are microseconds since server start.
//! * `PUT /_mock/scenarios/<id>/aws`: the scenario's AWS configuration, a map
//!   (keys in `aws::AwsConfig`: `credentials`, `api_keys`, `verify`, `region`,
//!   `expires_in_s`, `credential_delay_ms`, `credential_failures`,
//!   `credential_status`, `credential_body`, `role_name`, `web_identity_token`,
//!   `container_authorization`); replaces the previous one and clears the AWS
//!   counters, keeps steps and log. `204`.
//! * `GET /_mock/scenarios/<id>/aws`: `%{"configured", "verify", "fetches" =>
//!   %{"sts", "container", "imds_token", "imds_role", "imds_credentials",
//!   "imds_region"}, "credential_fetches", "issued" => [%{"source",
//!   "access_key_id", "secret_access_key", "session_token", "expiration"}],
//!   "verified", "rejected"}`.
//! * `DELETE /_mock/scenarios/<id>`: forgets the scenario. `204`.
//! * `POST /_mock/blackhole`: `%{"port" => port}`, a loopback port whose
//!   `connect()` never completes.
//! * `POST /_mock/google_keys`: a service account (a map or its JSON text,
//!   with `client_email` and `private_key`; the public half is kept) or
//!   `%{"client_email" => e, "public_key" => pem}`; the token endpoint then
//!   accepts assertions signed with it. Answers `%{"client_email" => e}`.
//! * `GET /_mock/cassette?path=<url-encoded path>`: a JSON file under the
//!   root as a term (`403` outside it); `GET /_mock/sse_events?path=…`: a
//!   recorded SSE body's events, `[%{"event", "data", "json"}]`.
//! * `POST /_mock/json`: a JSON text (the raw body) as a term.
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

mod aws;
mod blackhole;
mod body;
mod chaos;
mod control;
mod dialect;
mod etf;
mod files;
mod google_auth;
mod google_token;
mod media;
mod plan;
mod replay;
mod route;
mod server;
mod state;
mod step;

pub use files::FileRoot;
pub use google_auth::GoogleKeys;
pub use server::{serve, serve_with, MockServer};
pub use state::{Config, Outcome, Record, DEFAULT_MAX_RECORDS};
