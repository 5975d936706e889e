//! A call's events for `:telemetry` and the logs, sent as messages to one
//! of `Switchboard.Telemetry`'s dispatcher processes, which run the
//! handlers and write the logs. Sent from the call's own task, so a
//! caller that consumes its messages with a plain `receive` (or died) still
//! has its events; a call that asked for none has no `Events` at all.
//!
//! Each message is `{:"$switchboard_event", call_ref, context, event}`:
//! `context` is the term the caller passed (its registry's name, and with
//! every event wanted, its `metadata:` and start time), given back as is;
//! `event` is one of
//!
//! * `{:start}`, first, with every event wanted
//! * `{:attempt_start, number, client, provider, offset_ns}`
//! * `{:attempt_stop, number, %Switchboard.Attempt{}, offset_ns, duration_ns, refused}`,
//!   `refused`: the client's breaker or limits refused it with no HTTP
//! * `{:first_token, number, client, provider, offset_ns, since_attempt_ns}`
//! * `{:stop, {client, provider, model, %Switchboard.Usage{}, attempts}, offset_ns}`
//! * `{:exception, %Switchboard.Error{}, offset_ns}`
//! * `{:circuit, client, :open | :half_open | :close, cooldown_ns}`
//!
//! where `offset_ns` is the time since the call started. With only failures
//! wanted (logging, no handler attached) just the failed attempts that were
//! sent (not the refused ones, which are not logged: an open circuit would
//! log every call), circuits opening and the call's exception are sent.
//!
//! Sends are not acknowledged: a dispatcher that is dead (being restarted
//! by its supervisor) loses every event sent to it meanwhile, and the
//! call's later events go to the same pid, so a call whose dispatcher died
//! loses the rest of its events; calls started after the restart have
//! theirs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustler::env::SavedTerm;
use rustler::{Atom, Encoder, Env, LocalPid, OwnedEnv, ResourceArc, Term};
use switchboard_core::engine::{CircuitChange, Observer};
use switchboard_core::{Attempt, Failure, Response};

use crate::call::CallResource;
use crate::encode::{ExAttempt, ExError, ExUsage};

rustler::atoms! {
    all,
    failures,
    switchboard_event = "$switchboard_event",
    start,
    attempt_start,
    attempt_stop,
    first_token,
    stop,
    exception,
    circuit,
    open,
    half_open,
    close,
}

/// What the caller gave back for every event.
enum Context {
    /// Only failures are wanted: the registry's name (or `nil`) is enough,
    /// and an atom needs no environment of its own.
    Name(Atom),
    /// Every event: any term, kept in `Scratch::env`.
    Saved(SavedTerm),
}

struct Scratch {
    /// Where events are built; made by the first event sent when the
    /// context is a name.
    env: Option<OwnedEnv>,
    context: Context,
}

pub struct Events {
    dispatcher: LocalPid,
    /// Every event (`true`), or only failures.
    all: bool,
    started: Instant,
    call: ResourceArc<CallResource>,
    scratch: Mutex<Scratch>,
}

impl Events {
    /// Reads the `observe` argument of `call_start`: `nil`, or
    /// `{:all | :failures, dispatcher, context}`. Anything else is `None`:
    /// events are an extra, never a reason for a call to fail.
    pub fn decode(observe: Term, call: &ResourceArc<CallResource>) -> Option<Events> {
        let (mode, dispatcher, context): (Atom, LocalPid, Term) = observe.decode().ok()?;
        let all = if mode == self::all() {
            true
        } else if mode == failures() {
            false
        } else {
            return None;
        };
        let (env, context) = match context.decode::<Atom>() {
            Ok(name) if !all => (None, Context::Name(name)),
            _ => {
                let env = OwnedEnv::new();
                let saved = env.save(context);
                (Some(env), Context::Saved(saved))
            }
        };
        Some(Events {
            dispatcher,
            all,
            started: Instant::now(),
            call: call.clone(),
            scratch: Mutex::new(Scratch { env, context }),
        })
    }

    fn offset_ns(&self) -> u64 {
        nanos(self.started.elapsed())
    }

    /// Sends one event. Terms built stay in the call's environment until
    /// the call ends: a few small tuples per attempt.
    fn send(&self, event: impl for<'e> FnOnce(Env<'e>) -> Term<'e>) {
        let mut scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let Scratch { env, context } = &mut *scratch;
        let env = env.get_or_insert_with(OwnedEnv::new);
        env.run(|env| {
            let context = match context {
                Context::Name(name) => name.encode(env),
                Context::Saved(saved) => saved.load(env),
            };
            let message = (
                switchboard_event(),
                self.call.encode(env),
                context,
                event(env),
            );
            // A dead dispatcher loses this event, and this call's later
            // ones (see the module's docs).
            let _ = env.send(&self.dispatcher, message);
        });
    }

    /// The call's task began: its first event, so a handler never sees a
    /// call's `:start` after its end (it is sent from the task, not the
    /// caller, whose message could race the task's).
    pub fn call_started(&self) {
        if self.all {
            self.send(|env| (start(),).encode(env));
        }
    }

    /// The call ended with `result`; sent before its terminal message.
    pub fn call_finished(&self, result: &Result<Response, Failure>) {
        let offset = self.offset_ns();
        match result {
            Ok(response) if self.all => {
                let summary = (
                    response.client.clone(),
                    response.provider.clone(),
                    response.model.clone(),
                    ExUsage::priced(response.usage, response.cost),
                    response.attempts.len(),
                );
                self.send(|env| (stop(), summary, offset).encode(env));
            }
            Ok(_) => {}
            Err(failure) => {
                let error = ExError::from(failure.clone());
                self.send(|env| (exception(), error, offset).encode(env));
            }
        }
    }
}

impl Observer for Events {
    fn attempt_started(&self, number: usize, client: &str, provider: &'static str) {
        if self.all {
            let offset = self.offset_ns();
            self.send(|env| (attempt_start(), number, client, provider, offset).encode(env));
        }
    }

    fn attempt_finished(&self, number: usize, attempt: &Attempt) {
        let refused = attempt.error.as_ref().is_some_and(|e| e.refused);
        if self.all || (attempt.error.is_some() && !refused) {
            let offset = self.offset_ns();
            let duration = nanos(attempt.duration);
            let record = ExAttempt::from(attempt.clone());
            self.send(|env| {
                (attempt_stop(), number, record, offset, duration, refused).encode(env)
            });
        }
    }

    fn first_token(
        &self,
        number: usize,
        client: &str,
        provider: &'static str,
        since_start: Duration,
    ) {
        if self.all {
            let offset = self.offset_ns();
            let since = nanos(since_start);
            self.send(|env| (first_token(), number, client, provider, offset, since).encode(env));
        }
    }

    /// Every change with every event wanted; an opening also for the logs.
    fn circuit_changed(&self, client: &str, change: CircuitChange) {
        let (phase, cooldown) = match change {
            CircuitChange::Opened { cooldown } => (open(), nanos(cooldown)),
            _ if !self.all => return,
            CircuitChange::HalfOpened => (half_open(), 0),
            CircuitChange::Closed => (close(), 0),
        };
        self.send(|env| (circuit(), client, phase, cooldown).encode(env));
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
