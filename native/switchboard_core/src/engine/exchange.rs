//! One HTTP exchange of a leaf: prepare the attempt (its target, its
//! request and the reader of its answer), check the call's generation
//! parameters against that reader's dialect, authorize the request, send
//! it, read the answer (whole or streamed) with that reader, and redact every secret the
//! request carried from whatever comes back.

use serde_json::{Map, Value};

use super::media::{self, MediaCache};
use super::raw::RawAnswer;
use super::strategy::{Exchange, Failed};
use super::{stream, transport};
use crate::config::Leaf;
use crate::error::{Error, ProviderDetail};
use crate::generation::GenerationParams;
use crate::prompt::Message;
use crate::providers::{AnswerReader, Attempt, AttemptRequest};
use crate::secret::Secrets;
use crate::structured::OutputSchema;
use crate::tools::{Tool, ToolCallStart, ToolChoice, OUTPUT_TOOL};
use crate::wire::{CallInput, Completion, Deltas, ResponseHead};

/// Largest provider body kept on an error, so a huge HTML error page does
/// not travel to every receiver.
const RAW_RESPONSE_LIMIT: usize = transport::ERROR_BODY_PREFIX;

/// Exchanges over HTTP for one call.
pub(super) struct HttpExchange<'a> {
    pub messages: &'a [Message],
    pub options: &'a Map<String, Value>,
    /// The call's generation parameters, typed from `options`.
    pub generation: &'a GenerationParams,
    pub tools: &'a [Tool],
    pub tool_choice: Option<&'a ToolChoice>,
    /// The call's `output_schema`, compiled once for every attempt.
    pub output: Option<&'a OutputSchema>,
    /// Repeat an attempt whose answer does not match the schema under the
    /// client's retry policy (by default only a fallback moves on).
    pub retry_invalid_output: bool,
    /// Keep the answer as received in `Completion::raw`.
    pub raw_response: bool,
    /// Media fetched for `media_url_handler`, kept for the call's later
    /// attempts.
    pub media: MediaCache,
}

impl Exchange for HttpExchange<'_> {
    async fn exchange(
        &self,
        client: &str,
        leaf: &Leaf,
        streaming: bool,
        emit: &mut (dyn FnMut(&Deltas) + Send),
    ) -> Result<(u16, Completion), Failed> {
        // The prompt as this client sends it (BAML's role selection).
        let mut messages = leaf.roles.apply(self.messages);
        // Its media URLs as its `media_url_handler` says, from what
        // `prepare` fetched (boxed: most prompts have none, and this
        // state should not widen every call's future).
        if media::has_media_urls(&messages) {
            messages = Box::pin(media::resolve(leaf, &self.media, messages)).await?;
        }
        let input = CallInput {
            messages: &messages,
            options: self.options,
            stream: streaming,
            tools: self.tools,
            tool_choice: self.tool_choice,
            output_schema: self.output.map(OutputSchema::schema),
        };
        // The target is resolved first (on Vertex a call's `model` may pick
        // another family), and with it the reader of this attempt's answer.
        let Attempt { reader, request } = leaf.provider.prepare(&input)?;
        // Out of the reader's dialect's range: refused before any request
        // is sent, as an attempt error, so a fallback moves on to a client
        // that takes the value.
        reader.limits().check(
            &leaf.generation.with_call(self.generation, self.options),
            &|| format!("client {}", crate::value::shown(client)),
        )?;
        // The request is built and authorized in a block it leaves by
        // value: a local borrowed across an `.await` keeps its place in
        // this future for good, and this future is every call's state
        // while the answer is awaited.
        let (request, secrets) = {
            let mut request = match request {
                AttemptRequest::Ready(request) => request,
                AttemptRequest::Resolving(resolving) => resolving.await?,
            };
            let authorized = leaf.provider.authorization().apply(&mut request).await;
            let secrets = std::mem::take(&mut request.secrets);
            authorized.map_err(|e| redacted(e, &secrets))?;
            (request, secrets)
        };
        let clean = |e: Error| redacted(e, &secrets);
        let client = transport::client(leaf)?;
        let (status, mut completion) = if streaming {
            // The forced output tool is how the answer arrives, not a call
            // for the app: its start is not announced.
            let mut shown = |deltas: &Deltas| match self.output {
                Some(_) if deltas.tool_calls.iter().any(|c| c.name == OUTPUT_TOOL) => {
                    let rest = without_output_tool(deltas);
                    if !rest.is_empty() {
                        emit(&rest);
                    }
                }
                _ => emit(deltas),
            };
            // Boxed: a stream's state is large and most calls do not stream,
            // so it should not widen every call's future.
            Box::pin(stream::exchange(
                leaf,
                reader,
                transport::open(client, request, &leaf.http),
                self.raw_response,
                &mut shown,
            ))
            .await
            .map_err(|failed| failed.map_error(clean))?
        } else {
            let answer = transport::send(client, request, &leaf.http)
                .await
                .map_err(clean)?;
            if !answer.head.is_success() {
                return Err(clean(provider_error(reader, &answer.head, &answer.body)).into());
            }
            let mut completion =
                reader
                    .parse_response(&answer.head, &answer.body)
                    .map_err(|mut e| {
                        e.status = Some(answer.head.status);
                        e.raw_response = Some(raw_text(&answer.body));
                        clean(e)
                    })?;
            if self.raw_response {
                completion.raw = Some(RawAnswer::whole(&answer.body));
            }
            (answer.head.status, completion)
        };
        if let Some(output) = self.output {
            output
                .apply(&mut completion, self.retry_invalid_output)
                .map_err(|mut e| {
                    // A cut answer fails the schema for a reason worth naming.
                    if completion.finish() == crate::response::Finish::Length {
                        e.message
                            .push_str(" (the answer stopped at the output token limit)");
                    }
                    // The answer was read, so it was billed.
                    Failed {
                        error: clean(e.with_status(status)),
                        billed: Some(Box::new(completion.usage)),
                    }
                })?;
        }
        if !secrets.is_empty() {
            if let Some(raw) = completion.raw.as_mut() {
                *raw = secrets.redact(raw);
            }
        }
        Ok((status, completion))
    }

    async fn prepare(&self, leaf: &Leaf) -> Result<(), Error> {
        if media::has_media_urls(self.messages) {
            media::prefetch(leaf, &self.media, self.messages).await?;
        }
        Ok(())
    }
}

/// A stream delta less the start of the forced output tool.
fn without_output_tool(deltas: &Deltas) -> Deltas {
    Deltas {
        text: deltas.text.clone(),
        reasoning: deltas.reasoning.clone(),
        tool_calls: deltas
            .tool_calls
            .iter()
            .filter(|c| c.name != OUTPUT_TOOL)
            .map(ToolCallStart::clone)
            .collect(),
    }
}

fn redacted(e: Error, secrets: &Secrets) -> Error {
    if secrets.is_empty() {
        return e;
    }
    Error {
        message: secrets.redact(&e.message),
        raw_response: e.raw_response.map(|r| secrets.redact(&r)),
        provider: e.provider.map(|p| {
            Box::new(ProviderDetail {
                code: p.code.map(|c| secrets.redact(&c)),
                kind: p.kind.map(|t| secrets.redact(&t)),
            })
        }),
        ..e
    }
}

/// The error for a non-2xx answer, as the provider describes it; the
/// `Retry-After` headers count only when the provider gave no delay itself.
pub(super) fn provider_error(reader: &dyn AnswerReader, head: &ResponseHead, body: &[u8]) -> Error {
    let mut e = reader.parse_error(head, body);
    e.status = Some(head.status);
    if e.retry_after.is_none() {
        e.retry_after = crate::retry::parse_retry_after(&head.headers);
    }
    e.raw_response = Some(raw_text(body));
    e
}

fn raw_text(body: &[u8]) -> String {
    let end = body.len().min(RAW_RESPONSE_LIMIT);
    String::from_utf8_lossy(&body[..end]).into_owned()
}
