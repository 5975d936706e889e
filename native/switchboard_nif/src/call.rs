//! Calls: started from a NIF that only saves its arguments and spawns a
//! task, so no scheduler waits on a provider; finished by exactly one
//! `{ref, {:ok, response} | {:error, error}}` message from a runtime thread.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use rustler::{Encoder, Env, LocalPid, Monitor, Resource, ResourceArc, Term};
use serde_json::Value;
use switchboard_core::engine::Observer;
use switchboard_core::tools::{parse_tool_choice, parse_tools};
use switchboard_core::StreamSink;
use switchboard_core::{execute, parse_prompt_owned, CallRequest, Error, Failure, Registry};
use tokio_util::sync::CancellationToken;

use crate::encode::{ExError, ExResponse};
use crate::events::Events;
use crate::outbox::{Flow, Outbox};
use crate::registry::RegistryResource;
use crate::runtime::runtime;
use crate::term::{fits, to_value};
use crate::timing;

/// The handle `%Switchboard.Call{}` carries. It monitors the receiver: when
/// the receiver dies, the call is cancelled and its request aborted.
pub struct CallResource {
    cancel: CancellationToken,
    pub(crate) flow: Flow,
    /// Where the terminal message is: `RUNNING`, `SENDING`, `SENT`
    /// (`call_state/1`).
    terminal: AtomicU8,
}

/// The terminal message is not being sent yet: it is still to come.
const RUNNING: u8 = 0;
/// It is being sent: it may be in the receiver's mailbox already, and even
/// taken from there.
const SENDING: u8 = 1;
/// It is in the receiver's mailbox, or was taken from there.
const SENT: u8 = 2;

impl CallResource {
    /// Around the send of the terminal message, by the outbox. A receiver
    /// that finds no message in its mailbox and then reads `RUNNING` knows
    /// it will come; reading `SENT` (and looking again), whether it was
    /// already taken. `SENDING` only says to look again soon.
    pub(crate) fn sending_terminal(&self) {
        self.terminal.store(SENDING, Ordering::SeqCst);
    }

    pub(crate) fn sent_terminal(&self) {
        self.terminal.store(SENT, Ordering::SeqCst);
    }
}

#[rustler::resource_impl]
impl Resource for CallResource {
    const IMPLEMENTS_DOWN: bool = true;

    fn down<'a>(&'a self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {
        self.cancel.cancel();
    }
}

/// What `call_start` costs, in percent of a scheduler time slice (~1 ms):
/// 2-5 µs measured (`mean_nif_us` in the benchmark report), rounded up.
const START_COST_PERCENT: i32 = 1;

/// Arguments up to about this many bytes are decoded in `call_start` on
/// the caller's scheduler (a few microseconds); larger ones in
/// `call_start_dirty`, where decoding may take as long as it takes.
const DECODE_HERE_BUDGET: usize = 16 * 1024;

rustler::atoms! {
    too_large,
    running,
    sending,
    sent,
}

/// Starts a call whose `prompt`, `opts` and `observe` fit
/// `DECODE_HERE_BUDGET`.
/// Larger ones are not touched: it returns `:too_large`, and the caller
/// uses `call_start_dirty/6` instead. `window`: `nil` for a plain call,
/// else a streamed one with at most that many unacknowledged chunk
/// messages (`:infinity` for no limit). `observe`: `nil`, or which events
/// to send where (see `events.rs`).
#[rustler::nif]
fn call_start<'a>(
    env: Env<'a>,
    registry: ResourceArc<RegistryResource>,
    prompt: Term<'a>,
    opts: Term<'a>,
    receiver: LocalPid,
    window: Term<'a>,
    observe: Term<'a>,
) -> Term<'a> {
    let _timed = timing::start();
    // A NIF call counts as one reduction however long it runs; charging
    // what starting a call costs keeps a process that starts thousands of
    // calls in a row from overrunning its time slice.
    rustler::schedule::consume_timeslice(env, START_COST_PERCENT);
    // `observe` carries the caller's `metadata:`, copied into the call's
    // own environment: a large one is work for a dirty scheduler too.
    if !fits(&[prompt, opts, observe], DECODE_HERE_BUDGET) {
        return too_large().encode(env);
    }
    start(env, &registry, prompt, opts, receiver, window, observe)
}

/// `call_start/6` for arguments of any size, on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn call_start_dirty<'a>(
    env: Env<'a>,
    registry: ResourceArc<RegistryResource>,
    prompt: Term<'a>,
    opts: Term<'a>,
    receiver: LocalPid,
    window: Term<'a>,
    observe: Term<'a>,
) -> Term<'a> {
    start(env, &registry, prompt, opts, receiver, window, observe)
}

/// Decodes the request, spawns the call's task and returns its handle. A
/// request that does not decode still starts a call: its one message is
/// the error.
fn start<'a>(
    env: Env<'a>,
    registry: &RegistryResource,
    prompt: Term<'a>,
    opts: Term<'a>,
    receiver: LocalPid,
    window: Term<'a>,
    observe: Term<'a>,
) -> Term<'a> {
    let call = ResourceArc::new(CallResource {
        cancel: CancellationToken::new(),
        flow: Flow::default(),
        terminal: AtomicU8::new(RUNNING),
    });
    if env.monitor(&call, &receiver).is_none() {
        // The receiver is already gone; the call still ends with one message.
        call.cancel.cancel();
    }
    let stream_window = if window.is_atom() {
        match window.atom_to_string().as_deref() {
            Ok("infinity") => Some(u64::MAX),
            _ => None,
        }
    } else {
        window.decode::<u64>().ok().map(|w| w.max(1))
    };
    let task = CallTask {
        registry: registry.registry.clone(),
        call: call.clone(),
        request: decode_guarded(prompt, opts).map(Box::new).map_err(Box::new),
        receiver,
        stream_window,
        // `nil` (the usual case) is one comparison.
        events: (!observe.is_atom())
            .then(|| Events::decode(observe, &call))
            .flatten()
            .map(Arc::new),
    };
    runtime().spawn(task.run());
    call.encode(env)
}

#[rustler::nif]
fn call_cancel(call: ResourceArc<CallResource>) -> rustler::Atom {
    let _timed = timing::start();
    call.cancel.cancel();
    rustler::types::atom::ok()
}

/// Where the call's terminal message is: `:running` (still to be sent),
/// `:sending`, or `:sent` (in the receiver's mailbox, or taken from it).
/// `Switchboard.await/2` reads it to tell a result still to come from one
/// already received.
#[rustler::nif]
fn call_state(call: ResourceArc<CallResource>) -> rustler::Atom {
    let _timed = timing::start();
    match call.terminal.load(Ordering::SeqCst) {
        RUNNING => running(),
        SENDING => sending(),
        _ => sent(),
    }
}

/// The receiver handled `n` more chunk or reset messages.
#[rustler::nif]
fn call_ack(call: ResourceArc<CallResource>, n: u64) -> rustler::Atom {
    let _timed = timing::start();
    call.flow.ack(n);
    rustler::types::atom::ok()
}

struct CallTask {
    registry: Arc<Registry>,
    /// Kept alive so the receiver's monitor lives as long as the call.
    call: ResourceArc<CallResource>,
    /// Boxed, both ways: the task's future keeps its `CallTask` (the
    /// `async fn`'s argument) for as long as the call runs, and the
    /// `async` block below keeps what it captures, beside the copy
    /// `execute` owns; a pointer in each costs 8 bytes, a `CallRequest`
    /// 176 (`engine/footprint.rs`).
    request: Result<Box<CallRequest>, Box<Failure>>,
    receiver: LocalPid,
    stream_window: Option<u64>,
    /// Where the call's events go, when any are wanted.
    events: Option<Arc<Events>>,
}

impl CallTask {
    async fn run(self) {
        let CallTask {
            registry,
            call,
            request,
            receiver,
            stream_window,
            events,
        } = self;
        if let Some(events) = &events {
            events.call_started();
        }
        let outbox = Outbox::new(receiver, call.clone(), stream_window.unwrap_or(u64::MAX));
        let result = match request {
            Err(failure) => Err(*failure),
            Ok(request) => {
                let sink = stream_window.map(|_| &outbox as &dyn StreamSink);
                // Each future is built where it is awaited: one bound to a
                // local first takes its size twice in this task's state,
                // and that state is every call's fixed cost while in flight.
                AssertUnwindSafe(async {
                    tokio::select! {
                        result = execute(registry, *request, call.cancel.clone(), sink, observer(&events)) => result,
                        never = outbox.flush_on_ack() => never,
                    }
                })
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(panic_failure(panic)))
            }
        };
        // Whatever ended the call (an answer, an error, cancellation, the
        // receiver's death, a panic), this is its one end event.
        if let Some(events) = &events {
            events.call_finished(&result);
        }
        outbox.finish(|env| match result {
            Ok(response) => (rustler::types::atom::ok(), ExResponse::from(response)).encode(env),
            Err(failure) => (rustler::types::atom::error(), ExError::from(failure)).encode(env),
        });
    }
}

/// The engine tells attempts only to a call that wants some event.
fn observer(events: &Option<Arc<Events>>) -> Option<Arc<dyn Observer>> {
    events.clone().map(|e| e as Arc<dyn Observer>)
}

fn panic_failure(panic: Box<dyn std::any::Any + Send>) -> Failure {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    Failure {
        error: Error::new(
            switchboard_core::ErrorKind::Server,
            format!("internal error in switchboard (please report): {detail}"),
        ),
        attempts: Vec::new(),
    }
}

/// `decode_request`, with a panic turned into the call's error.
fn decode_guarded(prompt: Term, opts: Term) -> Result<CallRequest, Failure> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| decode_request(prompt, opts))) {
        Err(panic) => Err(panic_failure(panic)),
        Ok(Err(error)) => Err(Failure {
            error,
            attempts: Vec::new(),
        }),
        Ok(Ok(request)) => Ok(request),
    }
}

/// The prompt and the options map into a core request.
fn decode_request(prompt: Term, opts: Term) -> Result<CallRequest, Error> {
    let prompt = to_value(prompt, "prompt").map_err(Error::invalid_request)?;
    let mut request = CallRequest {
        messages: parse_prompt_owned(prompt)?,
        ..CallRequest::default()
    };
    let Value::Object(opts) = to_value(opts, "opts").map_err(Error::invalid_request)? else {
        return Err(Error::invalid_request("opts must be a keyword list"));
    };
    let mut tool_choice = None;
    for (key, value) in opts {
        match (key.as_str(), value) {
            ("client", Value::String(c)) => request.client = Some(c),
            ("client", _) => return Err(Error::invalid_request("opts[:client] must be a string")),
            ("options", Value::Object(o)) => request.overrides = o,
            ("options", Value::Null) => {}
            ("options", _) => return Err(Error::invalid_request("opts[:options] must be a map")),
            ("timeout", Value::String(s)) if s == "infinity" => {}
            ("timeout", Value::Number(n)) if n.as_u64().is_some_and(|ms| ms > 0) => {
                request.timeout = n.as_u64().map(Duration::from_millis);
            }
            ("timeout", _) => {
                return Err(Error::invalid_request(
                    "opts[:timeout] must be a positive integer (milliseconds) or :infinity",
                ))
            }
            ("tools", Value::Null) => {}
            ("tools", tools) => request.tools = parse_tools(&tools)?,
            ("tool_choice", Value::Null) => {}
            ("tool_choice", choice) => tool_choice = Some(choice),
            ("output_schema", Value::Null) => {}
            ("output_schema", Value::Object(schema)) => {
                request.output_schema = Some(Value::Object(schema))
            }
            ("output_schema", _) => {
                return Err(Error::invalid_request(
                    "opts[:output_schema] must be a JSON Schema map",
                ))
            }
            ("retry_invalid_output", Value::Bool(retry)) => request.retry_invalid_output = retry,
            ("retry_invalid_output", _) => {
                return Err(Error::invalid_request(
                    "opts[:retry_invalid_output] must be a boolean",
                ))
            }
            ("raw_response", Value::Bool(raw)) => request.raw_response = raw,
            ("raw_response", _) => {
                return Err(Error::invalid_request(
                    "opts[:raw_response] must be a boolean",
                ))
            }
            (other, _) => {
                return Err(Error::invalid_request(format!(
                    "unknown option {other:?} (expected client, options, timeout, tools, tool_choice, output_schema, retry_invalid_output or raw_response)"
                )))
            }
        }
    }
    // Checked once every option is read: it names one of the tools.
    if let Some(choice) = tool_choice {
        request.tool_choice = Some(parse_tool_choice(&choice, &request.tools)?);
    }
    Ok(request)
}
