//! What a call tells an observer while it runs: each attempt's start and
//! end, and the first streamed delta of an attempt. The binding turns these
//! into `:telemetry` events and logs; the engine only reports, and a call
//! without an observer pays nothing.
//!
//! The call's own start and end are not here: the binding sees both (it
//! starts the call, and it sends the one terminal message whatever ends the
//! call, cancellation and panics included).

use std::time::Duration;

use crate::response::Attempt;

/// Told about one call's attempts, in order, from the call's own task.
/// Methods must return quickly: they run on the call's path.
pub trait Observer: Send + Sync {
    /// Attempt `number` (1-based, in the call's attempts) is about to send.
    fn attempt_started(&self, number: usize, client: &str, provider: &'static str);

    /// Attempt `number` ended: answered, failed or cancelled. `attempt` is
    /// its record as the call's response or error will carry it.
    fn attempt_finished(&self, number: usize, attempt: &Attempt);

    /// The first streamed delta of attempt `number` arrived, `since_start`
    /// after the attempt started. Once per attempt, streamed calls only.
    fn first_token(
        &self,
        number: usize,
        client: &str,
        provider: &'static str,
        since_start: Duration,
    );

    /// Client `client`'s circuit breaker changed phase during this call's
    /// attempt (every call through the client shares the circuit; the call
    /// whose attempt moved it reports it).
    fn circuit_changed(&self, _client: &str, _change: CircuitChange) {}
}

/// A circuit breaker's change of phase, as observers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitChange {
    /// Attempts are refused for `cooldown`: the failure threshold was
    /// reached, a probe failed, or a 429 asked to wait that long.
    Opened { cooldown: Duration },
    /// The cooldown is over: one probe attempt is let through.
    HalfOpened,
    /// A probe was answered: attempts go through again.
    Closed,
}
