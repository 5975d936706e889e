//! Everything a call sends to its receiver, from the call's own task so the
//! order is the order of sending: chunks and resets while streaming, then
//! the one terminal message.
//!
//! Back-pressure: at most `window` chunk/reset messages may be
//! unacknowledged (`Switchboard.ack/2`); while the receiver is that far
//! behind, new text is merged into one pending chunk, sent when an ack makes
//! room or when the answer ends. So a slow receiver holds at most
//! `window + 1` chunk messages per call, whatever the provider streams.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use rustler::types::atom;
use rustler::{Atom, Encoder, Env, LocalPid, NifStruct, OwnedEnv, ResourceArc, Term};
use switchboard_core::wire::Deltas;
use switchboard_core::{Attempt, StreamSink, ToolCallStart};
use tokio::sync::Notify;

use crate::call::CallResource;
use crate::encode::{ExAttempt, ExToolCall};

rustler::atoms! {
    chunk,
    reset,
}

#[derive(NifStruct)]
#[module = "Switchboard.Chunk"]
struct ExChunk {
    text: String,
    reasoning: String,
    tool_calls: Vec<ExToolCall>,
    client: String,
    attempt: usize,
    /// Only `Switchboard.stream/3`'s final chunk carries the response.
    response: Atom,
}

/// Acknowledgements from the receiver, shared with the call's resource.
#[derive(Default)]
pub struct Flow {
    acked: AtomicU64,
    /// Set while text waits for room in the window; only then does an ack
    /// need to wake the call's task.
    blocked: AtomicBool,
    more: Notify,
}

impl Flow {
    pub fn ack(&self, n: u64) {
        self.acked.fetch_add(n, Ordering::SeqCst);
        if self.blocked.swap(false, Ordering::SeqCst) {
            self.more.notify_one();
        }
    }

    /// Completes after the next acknowledgement.
    pub async fn acked(&self) {
        self.more.notified().await;
    }
}

struct Pending {
    attempt: usize,
    client: String,
    text: String,
    reasoning: String,
    tool_calls: Vec<ToolCallStart>,
}

impl Pending {
    fn merge(&mut self, deltas: &Deltas) {
        self.text.push_str(&deltas.text);
        self.reasoning.push_str(&deltas.reasoning);
        self.tool_calls.extend(deltas.tool_calls.iter().cloned());
    }
}

struct State {
    receiver: LocalPid,
    window: u64,
    sent: u64,
    pending: Option<Pending>,
    /// The attempt whose text the receiver has seen, if any.
    delivered: Option<usize>,
}

pub struct Outbox {
    state: Mutex<State>,
    /// The call's handle: every message leads with it, and its flow says
    /// what the receiver has acknowledged.
    call: ResourceArc<CallResource>,
}

impl Outbox {
    pub fn new(receiver: LocalPid, call: ResourceArc<CallResource>, window: u64) -> Self {
        Outbox {
            state: Mutex::new(State {
                receiver,
                window,
                sent: 0,
                pending: None,
                delivered: None,
            }),
            call,
        }
    }

    /// Sends text held back by the window whenever the receiver
    /// acknowledges some. Never ends; polled by the call's own task beside
    /// the call, so sends never interleave.
    pub async fn flush_on_ack<T>(&self) -> T {
        loop {
            self.call.flow.acked().await;
            self.flush(false);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends pending text if the window has room (`force`: regardless).
    pub fn flush(&self, force: bool) {
        let mut state = self.lock();
        if state.pending.is_none() {
            return;
        }
        // Say we wait before reading `acked`: an ack racing with this check
        // is then either counted here or sees the flag and wakes the flusher.
        self.call.flow.blocked.store(true, Ordering::SeqCst);
        let in_flight = state
            .sent
            .saturating_sub(self.call.flow.acked.load(Ordering::SeqCst));
        if !force && in_flight >= state.window {
            return;
        }
        self.call.flow.blocked.store(false, Ordering::SeqCst);
        if let Some(p) = state.pending.take() {
            state.delivered = Some(p.attempt);
            let chunk = ExChunk {
                text: p.text,
                reasoning: p.reasoning,
                tool_calls: p.tool_calls.into_iter().map(ExToolCall::started).collect(),
                client: p.client,
                attempt: p.attempt,
                response: atom::nil(),
            };
            state.send(&self.call, |env| (self::chunk(), chunk).encode(env));
        }
    }

    /// The terminal message; nothing is sent after it. The call's handle
    /// says when it is being sent and when it is in the receiver's mailbox.
    pub fn finish(self, outcome: impl for<'e> FnOnce(Env<'e>) -> Term<'e>) {
        self.flush(true);
        let mut state = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        self.call.sending_terminal();
        state.send(&self.call, outcome);
        self.call.sent_terminal();
    }
}

impl State {
    /// Sends `{call, payload}` to the receiver. The call's handle is a
    /// resource, and so a reference, which `%Switchboard.Call{}` also carries
    /// as its `ref`: any term of it is equal to the caller's, and it costs
    /// nothing per call (an environment holding a `make_ref()` would cost
    /// over 2 KB: its process struct and a minimum-size heap fragment).
    fn send(
        &mut self,
        call: &ResourceArc<CallResource>,
        payload: impl for<'e> FnOnce(Env<'e>) -> Term<'e>,
    ) {
        with_scratch(|scratch| {
            // A dead receiver makes the send fail; nobody is waiting then.
            let _ = scratch.send_and_clear(&self.receiver, |env| {
                (call.encode(env), payload(env)).encode(env)
            });
        });
        self.sent += 1;
    }
}

thread_local! {
    /// Where this runtime thread builds messages; every send clears it.
    /// One per thread rather than one per call: making an environment
    /// allocates and sets up a process-sized structure, which every plain
    /// call paid once, and which a streamed call held for as long as it ran.
    static SCRATCH: RefCell<Option<OwnedEnv>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's scratch environment, or with a new one when
/// it is taken (a send inside a send) or already gone (thread exit).
fn with_scratch(f: impl FnOnce(&mut OwnedEnv)) {
    let mut f = Some(f);
    let _ = SCRATCH.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            if let Some(f) = f.take() {
                f(slot.get_or_insert_with(OwnedEnv::new));
            }
        }
    });
    if let Some(f) = f {
        f(&mut OwnedEnv::new());
    }
}

impl StreamSink for Outbox {
    fn chunk(&self, attempt: usize, client: &str, deltas: &Deltas) {
        {
            let mut state = self.lock();
            match &mut state.pending {
                Some(p) if p.attempt == attempt => p.merge(deltas),
                slot => {
                    let mut pending = Pending {
                        attempt,
                        client: client.to_owned(),
                        text: String::new(),
                        reasoning: String::new(),
                        tool_calls: Vec::new(),
                    };
                    pending.merge(deltas);
                    *slot = Some(pending);
                }
            }
        }
        self.flush(false);
    }

    fn reset(&self, attempt: usize, failed: &Attempt) {
        let mut state = self.lock();
        if state.pending.as_ref().is_some_and(|p| p.attempt == attempt) {
            state.pending = None;
        }
        // Only text the receiver saw needs taking back.
        if state.delivered == Some(attempt) {
            state.delivered = None;
            let record = ExAttempt::from(failed.clone());
            state.send(&self.call, |env| (self::reset(), record).encode(env));
        }
    }
}
