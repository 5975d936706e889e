//! Guards on what one call holds while it waits for its answer. With
//! 10,000 calls in flight every byte of these futures is paid 10,000
//! times (bench/README.md, "Memory per in-flight call"), and a future
//! grows silently: a local held across an `.await`, a future bound to a
//! variable before it is awaited, a large value kept by value. These
//! tests fail when that happens, so the growth is a decision, not an
//! accident.

use std::sync::Arc;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::attempts::AttemptLog;
use super::deadline::Deadline;
use super::exchange::HttpExchange;
use super::strategy::{run_client, Ctx};
use super::{execute, CallRequest};
use crate::config::Registry;
use crate::generation::GenerationParams;
use crate::prompt::Message;

fn registry() -> Arc<Registry> {
    let config = json!({
        "primary": "Bench",
        "clients": [{
            "name": "Bench",
            "provider": "openai",
            "options": {"model": "m", "api_key": "x", "base_url": "http://127.0.0.1:9/v1"},
        }],
    });
    Arc::new(Registry::from_value(&config).expect("registry"))
}

/// `execute`'s own state: it lives inline in the caller's task (the NIF's
/// `CallTask`) for the whole call. Measured 672 bytes on x86-64 with Rust
/// 1.95 (896 when it was an `async fn`, which stored its `CallRequest`
/// twice): the request it owns (176), the attempt log, the
/// `HttpExchange` of borrowed slices, the boxed strategy future's pointer
/// and the `select!` over cancellation. The bound leaves 10% for compiler
/// and dependency changes; past it, find what grew before raising it.
const EXECUTE_FUTURE_MAX: usize = 740;

/// The strategy future (`run_client`, boxed), which holds the leaf's
/// attempt record, its gate admission, its deadline's timer and the
/// exchange future awaiting the pool's pending request. Measured 1,624
/// bytes: 1,400 on reqwest (2,376 before the request, the answer's reading
/// and a `Result` stopped being kept across the wait), plus the request
/// timeout's timer (224), held here since the engine moved onto
/// hyper-util; reqwest kept its timer in the 1,792-byte box it allocated
/// per request, which is gone. The same 10% margin.
const RUN_CLIENT_FUTURE_MAX: usize = 1_790;

#[test]
fn a_call_future_stays_within_its_measured_size() {
    let cancel = CancellationToken::new();
    let request = CallRequest {
        messages: vec![Message::user("What is the BEAM?")],
        ..CallRequest::default()
    };
    let call = execute(registry(), request, cancel, None, None);
    let size = std::mem::size_of_val(&call);
    println!("execute future: {size} bytes");
    assert!(
        size <= EXECUTE_FUTURE_MAX,
        "engine::execute's future is {size} bytes, over {EXECUTE_FUTURE_MAX}: \
         every call in flight pays it"
    );
}

#[test]
fn a_strategy_future_stays_within_its_measured_size() {
    let registry = registry();
    let messages = [Message::user("What is the BEAM?")];
    let options = serde_json::Map::new();
    let generation = GenerationParams::default();
    let exchange = HttpExchange {
        messages: &messages,
        options: &options,
        generation: &generation,
        tools: &[],
        tool_choice: None,
        output: None,
        retry_invalid_output: false,
        raw_response: false,
        media: super::media::MediaCache::default(),
    };
    let log = AttemptLog::default();
    let ctx = Ctx {
        registry: &registry,
        log: &log,
        sink: None,
        exchange: &exchange,
        waits_for_limits: true,
    };
    let run = run_client(&ctx, &registry.clients[0], Deadline::for_call(None));
    // The box's contents, not the pointer: what the heap holds per call.
    let size = std::mem::size_of_val(&*run);
    println!("run_client future: {size} bytes");
    assert!(
        size <= RUN_CLIENT_FUTURE_MAX,
        "the strategy future is {size} bytes, over {RUN_CLIENT_FUTURE_MAX}: \
         every call in flight pays it"
    );
}

/// hyper's HTTP/1.1 connection future over the pool's connections: the
/// pool keeps one per connection, and on HTTP/1.1 a call in flight has a
/// connection to itself. Measured 2,768 bytes when the connection was
/// hyper-rustls's `MaybeHttpsStream` (rustls's state inline, twice: to the
/// host and to a possible proxy), 624 with the TLS state boxed
/// (`engine/lean.rs`); hyper's own over plain TCP is 616. The same 10%
/// margin.
const H1_CONNECTION_MAX: usize = 690;

#[test]
fn an_http1_connection_stays_within_its_measured_size() {
    type Connection = hyper::client::conn::http1::Connection<
        super::lean::Lean<super::connect::Routed>,
        http_body_util::Full<bytes::Bytes>,
    >;
    let size = std::mem::size_of::<Connection>();
    println!("HTTP/1.1 connection future: {size} bytes");
    assert!(
        size <= H1_CONNECTION_MAX,
        "hyper's HTTP/1.1 connection future is {size} bytes, over {H1_CONNECTION_MAX}: \
         every HTTP/1.1 call in flight pays it"
    );
}
