//! `registry_health/1`: each leaf client's circuit and limits, as the map
//! `Switchboard.Registry.health/1` returns. Only our own atoms are made;
//! client names stay binaries.

use std::time::{SystemTime, UNIX_EPOCH};

use rustler::types::map::map_new;
use rustler::{Encoder, Env, ResourceArc, Term};
use switchboard_core::config::{Circuit, ClientHealth};

use crate::registry::RegistryResource;

rustler::atoms! {
    circuit,
    closed,
    open,
    half_open,
    recent_failures,
    in_flight,
    requests_available,
    tokens_available,
}

/// Dirty: a registry may have thousands of clients, each read under its
/// breaker's and limits' locks.
#[rustler::nif(schedule = "DirtyCpu")]
fn registry_health<'a>(env: Env<'a>, handle: ResourceArc<RegistryResource>) -> Term<'a> {
    let mut out = map_new(env);
    for health in handle.registry.health() {
        if let Ok(map) = out.map_put(health.client.encode(env), client(env, &health)) {
            out = map;
        }
    }
    out
}

fn client<'a>(env: Env<'a>, h: &ClientHealth) -> Term<'a> {
    let circuit_term = match h.circuit {
        Circuit::Closed => closed().encode(env),
        Circuit::HalfOpen => half_open().encode(env),
        Circuit::Open { until } => (open(), unix_ms(until)).encode(env),
    };
    let pairs: [(Term<'a>, Term<'a>); 5] = [
        (circuit().encode(env), circuit_term),
        (recent_failures().encode(env), h.recent_failures.encode(env)),
        (in_flight().encode(env), h.in_flight.encode(env)),
        (
            requests_available().encode(env),
            h.requests_available.encode(env),
        ),
        (
            tokens_available().encode(env),
            h.tokens_available.encode(env),
        ),
    ];
    Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| map_new(env))
}

/// Milliseconds since the Unix epoch, as `System.system_time(:millisecond)`.
fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
