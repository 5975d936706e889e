//! Client state that outlives a rebuild. A registry is immutable, so
//! `add_client/5`, `set_primary/2`, `add_retry_policy/3` and a reload build
//! a new one; what its clients learned at run time (round-robin positions,
//! credentials) lives here instead, in a store the new registry inherits.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::breaker::CircuitBreaker;
use super::limits::ClientLimiter;
use crate::auth::CredentialCaches;
use crate::weak_map::WeakMap;

/// One client's runtime state, shared by every call through it and kept
/// across rebuilds and reloads of its registry while the client's name and
/// config are unchanged ([`ClientStore`]); a client whose config changed
/// starts with a fresh one.
///
/// It holds the round-robin cursor, and a leaf's circuit breaker and
/// limit counters: every node of a registry holds its client's state
/// (`ClientNode::state`), so the engine checks the breaker and the limits
/// before each attempt of the client and updates them with the attempt's
/// outcome after, and all of it survives reloads. Credentials are not
/// here: clients share them by credential identity ([`CredentialCaches`]),
/// whatever their names.
#[derive(Debug, Default)]
pub struct ClientState {
    /// Round-robin clients: attempts made so far through this client, by
    /// every call.
    pub cursor: AtomicUsize,
    /// Leaves: used only when the client has a `circuit_breaker`.
    pub breaker: CircuitBreaker,
    /// Leaves: `max_in_flight`, `requests_per_minute`, `tokens_per_minute`.
    pub limiter: ClientLimiter,
    /// Leaves: attempts sending or reading right now, by every call.
    pub in_flight: AtomicUsize,
}

/// What a client's state is kept under: its name and config.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct StateKey {
    pub name: String,
    /// The canonical name, so an alias is the same provider.
    pub provider: &'static str,
    /// A leaf's options, credentials included (never shown); a strategy's
    /// `strategy` and `start` (its timeout and retry policy may change
    /// without resetting its position).
    pub config: Map<String, Value>,
}

/// What a registry shares with every registry derived from it: client
/// states by name and config, and credential caches by identity. Both are
/// held weakly here and strongly by the registries' nodes and providers,
/// so what no live registry (or call still in flight on an old one) uses
/// is dropped.
#[derive(Debug, Default)]
pub struct ClientStore {
    states: WeakMap<StateKey, ClientState>,
    pub credentials: Arc<CredentialCaches>,
}

impl ClientStore {
    /// The state of the client `key` names, fresh if no registry uses it.
    pub(super) fn state(&self, key: StateKey) -> Arc<ClientState> {
        self.states.get_or_insert_with(key, ClientState::default)
    }

    /// How many client states some registry still uses.
    pub fn live_states(&self) -> usize {
        self.states.live()
    }
}
