//! Turns a step and a request into the exact bytes, gaps and faults to send.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::body::{Ending, Gap, MockBody, Piece};
use crate::dialect::{bedrock, Dialect, ErrorReply, Failure, Platform, Reply, RequestInfo};
use crate::dialect::{StreamOptions, Usage, JSON, SSE};
use crate::google_auth::AuthRequest;
use crate::google_token::{self, GoogleEndpoint};
use crate::replay::Replay;
use crate::route::{self, Miss};
use crate::state::OutcomeGuard;
use crate::step::Step;

/// Pause between `split_bytes` pieces: long enough that a client on loopback
/// reads each piece separately, short enough for byte-by-byte tests.
const SPLIT_GAP: Duration = Duration::from_millis(1);

#[derive(Debug)]
pub struct Plan {
    /// Wait before the response head.
    pub delay: Option<Duration>,
    pub action: Action,
}

#[derive(Debug)]
pub enum Action {
    /// Close the connection without answering.
    Drop,
    Respond(ResponsePlan),
}

#[derive(Debug)]
pub struct ResponsePlan {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub pieces: Vec<Piece>,
    pub ending: Ending,
    /// Announced length when it differs from what is sent (`truncate_at`).
    pub content_length: Option<u64>,
    /// A stream that is not `text/event-stream` (Gemini's JSON array) still
    /// goes chunked.
    pub chunked: bool,
    /// Repeated for ever after `pieces` (`endless`).
    pub endless: Option<Piece>,
}

impl ResponsePlan {
    pub(crate) fn new(status: u16, content_type: &'static str, pieces: Vec<Piece>) -> ResponsePlan {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        ResponsePlan {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers,
            pieces,
            ending: Ending::Complete,
            content_length: None,
            chunked: false,
            endless: None,
        }
    }

    pub(crate) fn single(status: u16, content_type: &'static str, body: Bytes) -> ResponsePlan {
        ResponsePlan::new(status, content_type, vec![immediate(body)])
    }

    pub(crate) fn with_headers(
        mut self,
        headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
    ) -> ResponsePlan {
        for (name, value) in headers {
            self.headers.insert(name, value);
        }
        self
    }

    /// SSE and AWS event streams go chunked, as the real APIs send them.
    fn is_event_stream(&self) -> bool {
        self.headers.get(CONTENT_TYPE).is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"text/event-stream") || v.starts_with(bedrock::CONTENT_TYPE.as_bytes())
        })
    }

    pub fn into_response(self, guard: Option<OutcomeGuard>) -> Response<MockBody> {
        if let Some(g) = &guard {
            g.set_status(self.status.as_u16());
        }
        let chunked = (self.chunked || self.is_event_stream()) && self.content_length.is_none();
        let mut body = MockBody::new(self.pieces, self.ending, guard);
        if let Some(filler) = self.endless {
            body = body.endless(filler);
        }
        if chunked {
            body = body.chunked();
        }
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        if let Some(len) = self.content_length {
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        response
    }
}

/// What answers a request that takes steps.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    /// A model API: its dialect and who hosts it.
    Model(&'static dyn Dialect, Platform),
    /// Google's token endpoint or metadata server, and the verdict on the
    /// request.
    Google(GoogleEndpoint, &'a AuthRequest),
}

/// What the planner needs to know about the request.
#[derive(Debug)]
pub struct RequestCtx<'a> {
    pub endpoint: Endpoint<'a>,
    pub info: &'a RequestInfo,
    pub path: &'a str,
    /// Unique number for ids in the response.
    pub id: u64,
}

pub fn build(step: Option<&Step>, ctx: &RequestCtx<'_>) -> Plan {
    let default_step;
    let step = match step {
        Some(s) => s,
        None => {
            default_step = Step::default();
            &default_step
        }
    };
    if step.drop {
        return Plan {
            delay: step.delay,
            action: Action::Drop,
        };
    }
    let mut plan = respond(step, ctx);
    decorate(&mut plan, step, ctx);
    Plan {
        delay: step.delay,
        action: Action::Respond(plan),
    }
}

/// An error answer that uses no step (a rejected signature), with the
/// dialect's request id.
pub fn error_reply(status: u16, error: ErrorReply, ctx: &RequestCtx<'_>) -> Plan {
    let mut plan = ResponsePlan::single(status, JSON, error.body).with_headers(error.headers);
    decorate(&mut plan, &Step::default(), ctx);
    Plan {
        delay: None,
        action: Action::Respond(plan),
    }
}

/// The 404 or 405 for a request no endpoint serves.
pub fn miss(miss: &Miss, method: &str, path: &str) -> Plan {
    let (status, allow, body) = route::miss_reply(miss, method, path);
    let allow = allow.and_then(|m| HeaderValue::from_str(m.as_str()).ok());
    let plan = ResponsePlan::single(status, JSON, body).with_headers(allow.map(|v| (ALLOW, v)));
    Plan {
        delay: None,
        action: Action::Respond(plan),
    }
}

fn respond(step: &Step, ctx: &RequestCtx<'_>) -> ResponsePlan {
    if let Some(replay) = &step.replay {
        return replay_plan(replay, step);
    }
    if let Some(body) = &step.body {
        return ResponsePlan::single(step.status.unwrap_or(200), JSON, body.clone());
    }
    match ctx.endpoint {
        Endpoint::Model(dialect, platform) => model_plan(dialect, platform, step, ctx),
        Endpoint::Google(endpoint, auth) => auth_plan(endpoint, step, auth),
    }
}

/// A model's answer: an error, a malformed body, or the scripted answer
/// whole or streamed, in the dialect's words.
fn model_plan(
    dialect: &dyn Dialect,
    platform: Platform,
    step: &Step,
    ctx: &RequestCtx<'_>,
) -> ResponsePlan {
    let error_type = step.error_type.as_deref();
    let in_stream = ctx.info.stream && step.error_after.is_some();
    let status = step
        .status
        .or_else(|| {
            let implied = error_type.filter(|_| !in_stream)?;
            dialect.status_of_error_type(implied)
        })
        .unwrap_or(200);
    let model = ctx.info.model.as_deref().unwrap_or(dialect.default_model());
    if !(200..300).contains(&status) {
        let error = dialect.error(&Failure {
            platform,
            status,
            model,
            path: ctx.path,
            error_type,
        });
        return ResponsePlan::single(status, dialect.json_content_type(), error.body)
            .with_headers(error.headers);
    }
    if step.malformed {
        let content_type = if ctx.info.stream {
            dialect.stream_content_type()
        } else {
            JSON
        };
        return ResponsePlan::single(status, content_type, dialect.malformed(ctx.info.stream));
    }

    let content: Cow<'_, str> = match (&step.content, step.chunks) {
        (Some(c), _) => Cow::Borrowed(c),
        (None, Some(n)) => Cow::Owned(numbered_words(n)),
        (None, None) if !step.tool_calls.is_empty() => Cow::Borrowed(""),
        (None, None) => Cow::Borrowed("Hello from switchboard_mock."),
    };
    let reply = Reply {
        platform,
        id: ctx.id,
        created: unix_now(),
        model,
        content: &content,
        reasoning: step.reasoning.as_deref(),
        tool_calls: &step.tool_calls,
        finish_reason: step
            .finish_reason
            .as_deref()
            .unwrap_or(dialect.default_finish_reason()),
        usage: Usage::from_spec(&step.usage),
        thoughts: step.thoughts.as_deref(),
        block_reason: step.block_reason.as_deref(),
        error_type,
    };
    if ctx.info.stream {
        stream_plan(dialect, status, &reply, step, ctx.info)
    } else {
        ResponsePlan::single(status, dialect.json_content_type(), dialect.answer(&reply))
    }
}

/// The token endpoint and the metadata server: a scripted failure, else the
/// verdict on the request: its refusal, or a token (`access_token`,
/// default `ya29.mock-<n>` for the scenario's n-th auth request, and
/// `expires_in`) or metadata value.
fn auth_plan(endpoint: GoogleEndpoint, step: &Step, auth: &AuthRequest) -> ResponsePlan {
    let error_content_type = endpoint.error_content_type();
    let status = step.status.unwrap_or(200);
    let mut plan = if !(200..300).contains(&status) {
        let body = endpoint.error(status, step.error_type.as_deref());
        ResponsePlan::single(status, error_content_type, body)
    } else if step.malformed {
        ResponsePlan::single(
            status,
            JSON,
            Bytes::from_static(b"{\"access_token\": \"ya29."),
        )
    } else {
        match &auth.verdict {
            Err(rejection) => ResponsePlan::single(
                rejection.status,
                error_content_type,
                endpoint.rejection(rejection),
            ),
            Ok(answer) => {
                let default_token;
                let access_token = match &step.access_token {
                    Some(t) => t.as_str(),
                    None => {
                        default_token = format!("ya29.mock-{}", auth.serial);
                        &default_token
                    }
                };
                let expires_in = step.expires_in.unwrap_or(google_token::DEFAULT_EXPIRES_IN);
                let (content_type, body) = google_token::token(answer, access_token, expires_in);
                ResponsePlan::single(status, content_type, body)
            }
        }
    };
    if endpoint == GoogleEndpoint::Metadata {
        plan.headers
            .insert("metadata-flavor", HeaderValue::from_static("Google"));
        plan.headers
            .insert("server", HeaderValue::from_static("Metadata Server for VM"));
    }
    plan
}

fn stream_plan(
    dialect: &dyn Dialect,
    status: u16,
    reply: &Reply<'_>,
    step: &Step,
    info: &RequestInfo,
) -> ResponsePlan {
    let texts = match (&step.content, step.chunks) {
        (Some(_), Some(n)) => split_even(reply.content, n),
        _ => split_words(reply.content),
    };
    let opts = StreamOptions {
        include_usage: info.include_usage(),
        json_array: info.json_array,
    };
    let stream = dialect.stream(reply, &texts, &opts);

    let cut = |n: usize| n.min(stream.deltas.len());
    let (sent, ending, trailer) = if let Some(n) = step.error_after {
        let error = dialect.stream_error(reply, &stream, cut(n), &opts);
        (cut(n), Ending::Complete, vec![error])
    } else if let Some(n) = step.truncate_after {
        let partial = dialect.cut_trailer(&stream, cut(n));
        (cut(n), Ending::Abort, partial.into_iter().collect())
    } else if let Some(n) = step.stall_after {
        (cut(n), Ending::Stall, Vec::new())
    } else {
        (stream.deltas.len(), Ending::Complete, stream.tail.clone())
    };

    let between = step.chunk_delay.map_or(Gap::Yield, Gap::Sleep);
    let events = stream
        .head
        .iter()
        .chain(&stream.deltas[..sent])
        .chain(&trailer);
    // A stream that is one JSON array (Gemini without `alt=sse`) is typed
    // as the dialect's JSON.
    let content_type = if info.json_array {
        dialect.json_content_type()
    } else {
        dialect.stream_content_type()
    };
    let mut plan = ResponsePlan::new(status, content_type, gapped(events.cloned(), between));
    plan.ending = ending;
    plan.chunked = true;
    plan
}

fn replay_plan(replay: &Replay, step: &Step) -> ResponsePlan {
    let between = step.chunk_delay.map_or(Gap::Yield, Gap::Sleep);
    match replay {
        Replay::Cassette {
            status,
            headers,
            body,
            chunks,
        } => {
            let status = step.status.unwrap_or(*status);
            let mut plan = if chunks.is_empty() {
                let body = body.clone().unwrap_or_default();
                ResponsePlan::single(status, JSON, body)
            } else {
                ResponsePlan::new(status, SSE, gapped(chunks.iter().cloned(), between))
            };
            for (name, value) in headers {
                // The recorded content type replaces the default one; other
                // headers keep every recorded value.
                if name == CONTENT_TYPE {
                    plan.headers.insert(name.clone(), value.clone());
                } else {
                    plan.headers.append(name.clone(), value.clone());
                }
            }
            plan
        }
        Replay::File(bytes) => ResponsePlan::single(step.status.unwrap_or(200), SSE, bytes.clone()),
        Replay::Chunks(chunks) => ResponsePlan::new(
            step.status.unwrap_or(200),
            SSE,
            gapped(chunks.iter().cloned(), between),
        ),
    }
}

/// Applies what every kind of response honours: ids, extra headers, content
/// type, byte splitting and truncation.
fn decorate(plan: &mut ResponsePlan, step: &Step, ctx: &RequestCtx<'_>) {
    if let Endpoint::Model(dialect, platform) = ctx.endpoint {
        if let Some((name, id)) = dialect.request_id(platform, ctx.id) {
            if !plan.headers.contains_key(&name) {
                if let Ok(v) = HeaderValue::from_str(&id) {
                    plan.headers.insert(name, v);
                }
            }
        }
    }
    for (name, value) in &step.headers {
        plan.headers.insert(name.clone(), value.clone());
    }
    if let Some(ct) = &step.content_type {
        plan.headers.insert(CONTENT_TYPE, ct.clone());
    }
    if let Some(max) = step.split_bytes {
        let gap = match (&step.replay, step.chunk_delay) {
            // A file is one piece, so its chunk delay is the only gap there is.
            (Some(Replay::File(_)), Some(d)) => Gap::Sleep(d),
            _ => Gap::Sleep(SPLIT_GAP),
        };
        plan.pieces = split_pieces(std::mem::take(&mut plan.pieces), max, gap);
    }
    if let Some(keep) = step.truncate_at {
        let total: u64 = plan.pieces.iter().map(|p| p.data.len() as u64).sum();
        plan.pieces = truncate(std::mem::take(&mut plan.pieces), keep);
        plan.content_length = Some(total);
        plan.ending = Ending::Abort;
    }
    if let Some(at) = step.corrupt_at {
        crate::chaos::corrupt(&mut plan.pieces, at);
    }
    if step.endless {
        plan.endless = Some(crate::chaos::filler(&plan.headers));
        plan.pieces.clear();
        plan.content_length = None;
        plan.chunked = true;
    }
}

fn immediate(data: Bytes) -> Piece {
    Piece {
        gap: Gap::Immediate,
        data,
    }
}

/// First piece right away, the rest after `between`.
fn gapped(items: impl Iterator<Item = Bytes>, between: Gap) -> Vec<Piece> {
    items
        .enumerate()
        .map(|(i, data)| Piece {
            gap: if i == 0 { Gap::Immediate } else { between },
            data,
        })
        .collect()
}

fn split_pieces(pieces: Vec<Piece>, max: usize, gap: Gap) -> Vec<Piece> {
    let mut out = Vec::new();
    for piece in pieces {
        let mut data = piece.data;
        let mut first = true;
        while !data.is_empty() {
            let part = data.split_to(max.min(data.len()));
            out.push(Piece {
                gap: if first { piece.gap } else { gap },
                data: part,
            });
            first = false;
        }
    }
    out
}

fn truncate(pieces: Vec<Piece>, mut keep: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    for mut piece in pieces {
        if keep == 0 {
            break;
        }
        piece.data.truncate(keep);
        keep -= piece.data.len();
        out.push(piece);
    }
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// "w1 w2 … wN", the content used when only `chunks` is scripted.
fn numbered_words(n: usize) -> String {
    let mut s = String::new();
    for i in 1..=n {
        if i > 1 {
            s.push(' ');
        }
        s.push('w');
        s.push_str(&i.to_string());
    }
    s
}

/// One word per piece; whitespace stays attached to the following word so the
/// pieces concatenate back to `s`.
pub fn split_words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut space_run: Option<usize> = None;
    let mut seen_word = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            space_run.get_or_insert(i);
            continue;
        }
        if let Some(run) = space_run.take() {
            if seen_word {
                out.push(&s[start..run]);
                start = run;
            }
        }
        seen_word = true;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// `n` pieces of (nearly) equal character count, never splitting a character.
pub fn split_even(s: &str, n: usize) -> Vec<&str> {
    let chars = s.chars().count();
    let n = n.min(chars);
    if n == 0 {
        return if s.is_empty() { Vec::new() } else { vec![s] };
    }
    let bounds: Vec<usize> = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()))
        .collect();
    (0..n)
        .map(|k| &s[bounds[k * chars / n]..bounds[(k + 1) * chars / n]])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_spaces() {
        assert_eq!(
            split_words("Hello from switchboard_mock."),
            vec!["Hello", " from", " switchboard_mock."]
        );
        assert_eq!(split_words("  a  b "), vec!["  a", "  b "]);
        assert!(split_words("").is_empty());
        assert_eq!(numbered_words(3), "w1 w2 w3");
    }

    #[test]
    fn even_split_respects_chars() {
        let parts = split_even("héllo wörld", 4);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts.concat(), "héllo wörld");
        assert_eq!(split_even("ab", 5), vec!["a", "b"]);
        assert!(split_even("", 3).is_empty());
    }

    #[test]
    fn truncation_and_splitting() {
        let pieces = vec![
            immediate(Bytes::from("abcdef")),
            immediate(Bytes::from("gh")),
        ];
        let split = split_pieces(pieces, 4, Gap::Yield);
        let lens: Vec<usize> = split.iter().map(|p| p.data.len()).collect();
        assert_eq!(lens, vec![4, 2, 2]);
        let cut = truncate(split, 5);
        let bytes: Vec<u8> = cut.iter().flat_map(|p| p.data.to_vec()).collect();
        assert_eq!(bytes, b"abcde");
    }
}
