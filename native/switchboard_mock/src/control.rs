//! `/_mock/...`: scripting, the request log, the blackhole port and the
//! cassette reader. Bodies are Erlang External Term Format both ways (a
//! scenario may also be scripted in JSON, for curl and Python); errors are
//! plain text with a 4xx/5xx status.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use eetf::{List, Term};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use crate::aws::AwsConfig;
use crate::blackhole::Blackhole;
use crate::body::MockBody;
use crate::etf;
use crate::files::FileError;
use crate::replay;
use crate::state::{valid_scenario_id, State};
use crate::step::Step;

pub const PREFIX: &str = "/_mock/";

pub async fn handle(state: &Arc<State>, req: Request<Incoming>) -> Response<MockBody> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    let result = match (&parts.method, segments.as_slice()) {
        (&Method::PUT, ["scenarios", id]) => {
            let json = is_json(parts.headers.get(CONTENT_TYPE));
            put_scenario(state, id, body, json).await
        }
        (&Method::GET, ["scenarios", id, "requests"]) => get_requests(state, id),
        (&Method::GET, ["scenarios", id, "stats"]) => get_stats(state, id),
        (&Method::PUT, ["scenarios", id, "aws"]) => {
            let json = is_json(parts.headers.get(CONTENT_TYPE));
            put_aws(state, id, body, json).await
        }
        (&Method::GET, ["scenarios", id, "aws"]) => get_aws(state, id),
        (&Method::DELETE, ["scenarios", id]) => delete_scenario(state, id),
        (&Method::POST, ["blackhole"]) => blackhole(state).await,
        (&Method::POST, ["google_keys"]) => {
            let json = is_json(parts.headers.get(CONTENT_TYPE));
            add_google_key(state, body, json).await
        }
        (&Method::GET, ["cassette"]) => {
            cassette(state, parts.uri.query().unwrap_or_default()).await
        }
        (&Method::GET, ["sse_events"]) => {
            sse_events(state, parts.uri.query().unwrap_or_default()).await
        }
        (&Method::POST, ["json"]) => decode_json(body).await,
        (&Method::GET, ["health"]) => Ok(text(StatusCode::OK, "ok")),
        _ => Err(Failure(
            StatusCode::NOT_FOUND,
            format!("no control endpoint {} {path}", parts.method),
        )),
    };
    result.unwrap_or_else(|Failure(status, message)| text(status, message))
}

/// A control request that failed, answered as plain text.
struct Failure(StatusCode, String);

type Reply = Result<Response<MockBody>, Failure>;

fn text(status: StatusCode, message: impl Into<String>) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(Bytes::from(message.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn bad_request(message: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, message.into())
}

fn internal(message: impl ToString) -> Failure {
    Failure(StatusCode::INTERNAL_SERVER_ERROR, message.to_string())
}

fn term_response(term: &Term) -> Response<MockBody> {
    let mut r = Response::new(MockBody::full(etf::encode(term)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(etf::CONTENT_TYPE));
    r
}

fn no_content() -> Response<MockBody> {
    let mut r = Response::new(MockBody::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

fn checked_id(id: &str) -> Result<&str, Failure> {
    if valid_scenario_id(id) {
        Ok(id)
    } else {
        Err(bad_request(format!(
            "invalid scenario id {id:?}: use letters, digits, '_', '.' and '-'"
        )))
    }
}

/// `application/json`, with or without parameters such as `charset`.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The first byte of every External Term Format encoding; never the first
/// byte of a JSON text.
const ETF_VERSION: u8 = 131;

async fn read_body(body: Incoming) -> Result<Bytes, Failure> {
    Ok(body
        .collect()
        .await
        .map_err(|e| bad_request(format!("reading body: {e}")))?
        .to_bytes())
}

/// A control request's body, as ETF or (with `content-type:
/// application/json`) as JSON.
async fn read_value(body: Incoming, json: bool) -> Result<serde_json::Value, Failure> {
    let bytes = read_body(body).await?;
    // Some ETF callers label their bodies as JSON; the version byte tells
    // them apart, so they keep working.
    if json && bytes.first() != Some(&ETF_VERSION) {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(|e| bad_request(format!("invalid JSON: {e}")))
    } else {
        etf::decode(&bytes)
            .and_then(|t| etf::term_to_json(&t))
            .map_err(bad_request)
    }
}

/// Body: a list of step maps, or `%{"steps" => [...]}`, with `"cycle" =>
/// true` to start the list again after its last step.
async fn put_scenario(state: &Arc<State>, id: &str, body: Incoming, json: bool) -> Reply {
    let id = checked_id(id)?;
    let value = read_value(body, json).await?;
    let cycle = match value.get("cycle") {
        None | Some(serde_json::Value::Bool(false)) => false,
        Some(serde_json::Value::Bool(true)) => true,
        Some(_) => return Err(bad_request("cycle: must be true or false")),
    };
    // Replay steps read files; keep that off the reactor threads.
    let root = state.config.root.clone();
    let steps = tokio::task::spawn_blocking(move || {
        let list = match &value {
            serde_json::Value::Object(map) => map.get("steps").unwrap_or(&serde_json::Value::Null),
            other => other,
        };
        Step::parse_list(list, &root)
    })
    .await
    .map_err(internal)?
    .map_err(bad_request)?;
    state.scenario(id).replace(steps, cycle);
    Ok(no_content())
}

/// Body: a service account (map or JSON text, `client_email` and
/// `private_key`) or `%{"client_email" => e, "public_key" => pem}`. Answers
/// `%{"client_email" => e}`.
async fn add_google_key(state: &Arc<State>, body: Incoming, json: bool) -> Reply {
    let value = read_value(body, json).await?;
    let email = state.config.google_keys.add(&value).map_err(bad_request)?;
    Ok(term_response(&etf::map(vec![(
        "client_email",
        etf::binary(email.as_bytes()),
    )])))
}

fn get_requests(state: &Arc<State>, id: &str) -> Reply {
    let id = checked_id(id)?;
    let records = state
        .existing_scenario(id)
        .map(|s| s.records())
        .unwrap_or_default();
    let terms: Vec<Term> = records.iter().map(|r| etf::record_to_term(r)).collect();
    Ok(term_response(&Term::from(List::from(terms))))
}

/// `%{"in_flight" => n, "peak_in_flight" => n, "requests" => n}`: requests
/// being answered now, the most at once and how many were admitted since
/// the scenario was last scripted.
fn get_stats(state: &Arc<State>, id: &str) -> Reply {
    let id = checked_id(id)?;
    let (now, peak, admitted) = state
        .existing_scenario(id)
        .map(|s| s.in_flight.read())
        .unwrap_or_default();
    let int = |n: u64| etf::int(i64::try_from(n).unwrap_or(i64::MAX));
    Ok(term_response(&etf::map(vec![
        ("in_flight", int(now)),
        ("peak_in_flight", int(peak)),
        ("requests", int(admitted)),
    ])))
}

/// Body: the scenario's AWS configuration map (see `aws::AwsConfig`).
/// Replaces the previous one and clears the AWS counters; steps and the
/// request log are untouched.
async fn put_aws(state: &Arc<State>, id: &str, body: Incoming, json: bool) -> Reply {
    let id = checked_id(id)?;
    let value = read_value(body, json).await?;
    let config = AwsConfig::parse(&value).map_err(bad_request)?;
    state.scenario(id).aws.configure(config);
    Ok(no_content())
}

/// What the scenario's credential endpoints and verifier did.
fn get_aws(state: &Arc<State>, id: &str) -> Reply {
    let id = checked_id(id)?;
    let report = state.scenario(id).aws.report();
    Ok(term_response(&etf::json_to_term(&report)))
}

fn delete_scenario(state: &Arc<State>, id: &str) -> Reply {
    let id = checked_id(id)?;
    state.remove_scenario(id);
    Ok(no_content())
}

async fn blackhole(state: &Arc<State>) -> Reply {
    let hole = state
        .blackhole
        .get_or_try_init(Blackhole::open)
        .await
        .map_err(|e| internal(format!("blackhole: {e}")))?;
    Ok(term_response(&etf::map(vec![(
        "port",
        etf::int(i64::from(hole.port())),
    )])))
}

/// `[%{"event" => name | nil, "data" => raw, "json" => term | nil}]` of a
/// recorded SSE body.
async fn sse_events(state: &Arc<State>, query: &str) -> Reply {
    let path = file_param(state, query)?;
    let events = tokio::task::spawn_blocking(move || replay::recorded_events(&path))
        .await
        .map_err(internal)?
        .map_err(|e| Failure(StatusCode::NOT_FOUND, e))?;
    let terms: Vec<eetf::Term> = events
        .iter()
        .map(|(name, data)| {
            let json = serde_json::from_str::<serde_json::Value>(data)
                .map(|v| etf::json_to_term(&v))
                .unwrap_or_else(|_| etf::atom("nil"));
            etf::map(vec![
                (
                    "event",
                    name.as_deref()
                        .map_or_else(|| etf::atom("nil"), |n| etf::binary(n.as_bytes())),
                ),
                ("data", etf::binary(data.as_bytes())),
                ("json", json),
            ])
        })
        .collect();
    Ok(term_response(&eetf::Term::from(eetf::List::from(terms))))
}

/// The `?path=` file, resolved under the mock's root: 403 outside it.
fn file_param(state: &State, query: &str) -> Result<PathBuf, Failure> {
    let path = path_param(query)?;
    state.config.root.resolve(&path).map_err(|e| match e {
        FileError::Refused(m) => Failure(StatusCode::FORBIDDEN, m),
        FileError::Missing(m) => Failure(StatusCode::NOT_FOUND, m),
    })
}

fn path_param(query: &str) -> Result<String, Failure> {
    let path = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "path")
        .map(|(_, v)| v.replace('+', " "))
        .ok_or_else(|| bad_request("missing ?path="))?;
    let path = percent_encoding::percent_decode_str(&path)
        .decode_utf8()
        .map_err(|_| bad_request("path is not UTF-8"))?
        .into_owned();
    Ok(path)
}

/// A JSON text posted as is, answered as a term: tests without a JSON
/// library decode what they built themselves (no file, so no root needed).
async fn decode_json(body: Incoming) -> Reply {
    let bytes = read_body(body).await?;
    let value = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| bad_request(format!("invalid JSON: {e}")))?;
    Ok(term_response(&etf::json_to_term(&value)))
}

async fn cassette(state: &Arc<State>, query: &str) -> Reply {
    let path = file_param(state, query)?;
    let value = tokio::task::spawn_blocking(move || replay::read_json(&path))
        .await
        .map_err(internal)?
        .map_err(|e| Failure(StatusCode::NOT_FOUND, e))?;
    Ok(term_response(&etf::json_to_term(&value)))
}
