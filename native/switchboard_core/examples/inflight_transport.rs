//! What one in-flight request costs in the HTTP stack alone, without
//! Switchboard's engine: the engine's transport (hyper-util's pooled client
//! as `engine::transport` builds it) next to reqwest, which the engine used
//! before, and a bare hyper-util client. The numbers behind bench/README.md's
//! "Memory per in-flight call" decision and "The engine on hyper-util".
//!
//! ```sh
//! cargo run --release -p switchboard_core --example inflight_transport -- \
//!     http://127.0.0.1:PORT/s/bench-c/v1/chat/completions 10000 hyper-h1
//! ```
//!
//! Modes: `engine-h1`, `engine-h2`, `reqwest-h1`, `reqwest-h2`, `hyper-h1`,
//! `hyper-h1-small` (a 1 KiB exact read buffer), `hyper-h2`. The URL should answer after a
//! delay (the bench's `bench-c` scenario: 5 s), so that every request is
//! in flight at once. Prints RSS and malloc growth per request at the
//! plateau (sampled every 50 ms until the first answer arrives).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use switchboard_core::config::HttpSettings;
use switchboard_core::engine::transport;
use switchboard_core::wire::HttpRequest;

const BODY: &str = r#"{"model":"m","messages":[{"role":"user","content":"What is the BEAM?"}]}"#;

#[derive(Clone)]
enum Transport {
    Engine(Box<transport::Transport>, &'static HttpSettings),
    Reqwest(reqwest::Client),
    Hyper(Box<HyperClient<HttpConnector, Full<Bytes>>>),
}

impl Transport {
    fn new(mode: &str) -> Transport {
        let reqwest = |h2: bool| {
            let mut b = reqwest::Client::builder()
                .retry(reqwest::retry::never())
                .redirect(reqwest::redirect::Policy::none())
                .tcp_nodelay(true)
                .pool_idle_timeout(Duration::from_secs(90));
            if h2 {
                b = b.http2_prior_knowledge();
            }
            Transport::Reqwest(b.build().expect("reqwest client"))
        };
        let hyper = |h2: bool, exact: Option<usize>| {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            let mut b = HyperClient::builder(TokioExecutor::new());
            b.pool_idle_timeout(Duration::from_secs(90))
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .http2_only(h2);
            if let Some(size) = exact {
                b.http1_read_buf_exact_size(size);
            }
            Transport::Hyper(Box::new(b.build(connector)))
        };
        let engine = |h2: bool| {
            let settings: &'static HttpSettings = Box::leak(Box::new(HttpSettings {
                http2_prior_knowledge: h2,
                ..HttpSettings::default()
            }));
            Transport::Engine(
                Box::new(transport::client_for(settings).expect("engine transport")),
                settings,
            )
        };
        match mode {
            "engine-h1" => engine(false),
            "engine-h2" => engine(true),
            "reqwest-h1" => reqwest(false),
            "reqwest-h2" => reqwest(true),
            "hyper-h1" => hyper(false, None),
            "hyper-h1-small" => hyper(false, Some(1024)),
            "hyper-h2" => hyper(true, None),
            other => panic!("unknown mode {other}"),
        }
    }

    async fn post(&self, url: &str) -> Result<usize, String> {
        match self {
            Transport::Engine(t, settings) => {
                let url = url::Url::parse(url).map_err(|e| e.to_string())?;
                let mut request = HttpRequest::post_json(url, &()).map_err(|e| e.message)?;
                request.body = Bytes::from_static(BODY.as_bytes());
                let answer = transport::send(t, request, settings)
                    .await
                    .map_err(|e| e.message)?;
                Ok(answer.body.len())
            }
            Transport::Reqwest(c) => {
                let r = c
                    .post(url)
                    .header("content-type", "application/json")
                    .body(BODY)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(r.bytes().await.map_err(|e| e.to_string())?.len())
            }
            Transport::Hyper(c) => {
                let request = http::Request::post(url)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                    .map_err(|e| e.to_string())?;
                let r = c.request(request).await.map_err(|e| e.to_string())?;
                let body = r.into_body().collect().await.map_err(|e| e.to_string())?;
                Ok(body.to_bytes().len())
            }
        }
    }
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// glibc's figure (2.33 and later); elsewhere, 0: the example still builds
/// with the workspace on other platforms.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn malloc_bytes() -> usize {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct.
    let info = unsafe { libc::mallinfo2() };
    info.uordblks + info.hblkhd
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn malloc_bytes() -> usize {
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, n, mode] = &args[..] else {
        eprintln!("usage: inflight_transport URL N MODE");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let transport = Transport::new(mode);
        // Warm-up: the pool, the connector and the allocator's arenas.
        let warm: Vec<_> = (0..20)
            .map(|_| {
                let (t, u) = (transport.clone(), url.clone());
                tokio::spawn(async move { t.post(&u).await })
            })
            .collect();
        for w in warm {
            w.await.expect("join").expect("warm-up request");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (rss0, malloc0) = (rss_bytes(), malloc_bytes());
        let done = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (t, u) = (transport.clone(), url.clone());
                let (done, failed) = (done.clone(), failed.clone());
                tokio::spawn(async move {
                    if let Err(e) = t.post(&u).await {
                        if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("first error: {e}");
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        let (mut rss, mut malloc) = (rss0, malloc0);
        while done.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = rss_bytes();
            if now > rss {
                rss = now;
                malloc = malloc_bytes();
            }
        }
        for t in tasks {
            t.await.expect("join");
        }
        println!(
            "{mode:15} n={n} rss/request {:.2} KB  malloc/request {:.2} KB  failed {}",
            (rss - rss0) as f64 / n as f64 / 1000.0,
            (malloc as f64 - malloc0 as f64) / n as f64 / 1000.0,
            failed.load(Ordering::Relaxed)
        );
    });
}
