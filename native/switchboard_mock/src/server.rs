//! Accept loop, per-connection HTTP/1.1 and provider request handling.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioExecutor;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::aws::{self, sigv4::Received};
use crate::body::MockBody;
use crate::control;
use crate::dialect::Request as ModelRequest;
use crate::google_auth::{self, AuthRequest};
use crate::google_token::GoogleEndpoint;
use crate::media;
use crate::plan::{self, Action, Endpoint, RequestCtx};
use crate::route::{self, Route};
use crate::state::{valid_scenario_id, Config, Outcome, OutcomeGuard, Record, State};
use crate::step::Step;

/// Serves until the listener fails for good. Scenario state lives as long as
/// this future.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    serve_with(listener, Config::default()).await
}

pub async fn serve_with(listener: TcpListener, config: Config) -> io::Result<()> {
    let (_tx, rx) = watch::channel(false);
    accept_loop(listener, Arc::new(State::new(config)), rx).await
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    // Numbers each accepted connection, for records to say which one
    // carried them (tests of connection reuse count them).
    let mut connections: u64 = 0;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) if is_transient_accept_error(&e) => {
                // Out of file descriptors or a connection reset before we got
                // to it: back off briefly instead of spinning or giving up.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        connections += 1;
        tokio::spawn(serve_connection(
            stream,
            connections,
            Arc::clone(&state),
            shutdown.clone(),
        ));
    }
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::PermissionDenied
    )
}

async fn serve_connection(
    stream: TcpStream,
    connection: u64,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Each SSE event and split piece must leave as its own segment.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| handle(Arc::clone(&state), connection, req));
    // HTTP/1.1, or cleartext HTTP/2 for clients that start with its preface
    // (h2c prior knowledge), as real providers answer HTTP/2 over TLS.
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Idle pooled client connections must not be closed under a test's feet.
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        // Benchmarks put 100,000 calls on one connection at once.
        .max_concurrent_streams(100_000)
        // Room for all of their request bodies. With hyper's 1 MiB window a
        // burst of bodies outruns the handlers reading them; the window
        // then reopens a few bytes at a time, each body arrives cut into
        // small DATA frames, and h2's guard against floods of small frames
        // (a budget of half the window) closes the connection with
        // ENHANCE_YOUR_CALM: every call on it fails ("broken pipe").
        .initial_connection_window_size(REQUEST_WINDOW_BYTES);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
}

/// The HTTP/2 connection window: 100,000 requests of 2 KiB in flight.
const REQUEST_WINDOW_BYTES: u32 = 256 * 1024 * 1024;

fn http_version(v: hyper::Version) -> &'static str {
    match v {
        hyper::Version::HTTP_2 => "HTTP/2.0",
        hyper::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

/// Returned to hyper to close the connection without a response.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose by the mock script")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    state: Arc<State>,
    connection: u64,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, DropConnection> {
    if req.uri().path().starts_with(control::PREFIX) {
        return Ok(control::handle(&state, req).await);
    }
    provider_request(state, connection, req).await
}

/// Splits `/s/<scenario>/rest` into the scenario and `/rest`.
fn split_scenario(path: &str) -> Option<(&str, &str)> {
    let Some(after) = path.strip_prefix("/s/") else {
        return Some(("default", path));
    };
    let (id, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    valid_scenario_id(id).then_some((id, rest))
}

async fn provider_request(
    state: Arc<State>,
    connection: u64,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, DropConnection> {
    let received_at_us = state.now_us();
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_owned();
    let Some((scenario_id, path)) = split_scenario(parts.uri.path()) else {
        let message = format!(
            "switchboard_mock: invalid scenario id in {}: use letters, digits, '_', '.' and '-'",
            parts.uri.path()
        );
        let mut r = Response::new(MockBody::full(route::error_body(404, &message)));
        *r.status_mut() = hyper::StatusCode::NOT_FOUND;
        return Ok(r);
    };
    let body = match body.collect().await {
        // Copied: the collected bytes may be a view into hyper's read buffer,
        // and a logged request must not pin kilobytes of it.
        Ok(collected) => Bytes::copy_from_slice(&collected.to_bytes()),
        // The client left mid-upload; there is nobody to answer.
        Err(_) => return Err(DropConnection),
    };
    let query = parts.uri.query().unwrap_or_default();
    let scenario = state.scenario(scenario_id);
    let route = route::route(&parts.method, path, query, &body);
    let info = match &route {
        Ok(Route::Llm(dialect, platform)) => dialect.request_info(&ModelRequest {
            platform: *platform,
            path,
            query,
            body: &body,
        }),
        _ => Default::default(),
    };
    // Only requests to AWS services, and only in scenarios configured to
    // check them.
    let aws_check = match &route {
        Ok(Route::Llm(dialect, _)) => dialect
            .aws_service()
            .and_then(|service| Some((service, scenario.aws.config().filter(|c| c.verify)?))),
        _ => None,
    };
    let verdict = aws_check.map(|(service, cfg)| {
        let received = Received {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            query: parts.uri.query(),
            authority: parts.uri.authority().map(|a| a.as_str()),
            headers: &parts.headers,
            body: &body,
        };
        let verdict =
            aws::sigv4::verify(&cfg, &state.keyring, &received, service, SystemTime::now());
        scenario.aws.verdict(verdict.is_ok());
        verdict
    });
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                Bytes::copy_from_slice(value.as_bytes()),
            )
        })
        .collect();
    let record = Arc::new(
        Record::new(
            method,
            path.to_owned(),
            query.to_owned(),
            headers,
            body,
            received_at_us,
            http_version(parts.version),
        )
        .with_connection(connection)
        .with_auth(verdict.as_ref().map(|v| match v {
            Ok(accepted) => accepted.scheme(),
            Err(_) => "rejected",
        })),
    );
    let max_records = state.config.max_records;
    // Misses, credential fetches and rejected requests are logged but use no
    // step: the script is for the model's answers.
    let plan = match route {
        // Media for `media_url_handler` tests: logged, no step used.
        Err(_) if parts.method == hyper::Method::GET && media::is_media(path) => {
            scenario.admit(Arc::clone(&record), max_records, false);
            media::plan(path, query, &state.config.root)
        }
        Err(miss) => {
            scenario.admit(Arc::clone(&record), max_records, false);
            plan::miss(&miss, &record.method, &record.path)
        }
        Ok(Route::Credentials(route)) => {
            scenario.admit(Arc::clone(&record), max_records, false);
            let request_id = aws::request_id(state.next_id());
            let request = aws::credentials::Request {
                headers: &parts.headers,
                request_id: &request_id,
            };
            aws::credentials::respond(&route, &request, &scenario.aws, &state.keyring)
        }
        Ok(Route::Llm(dialect, platform)) => {
            let ctx = RequestCtx {
                endpoint: Endpoint::Model(dialect, platform),
                info: &info,
                path: &record.path,
                id: state.next_id(),
            };
            if let Some(Err(rejected)) = &verdict {
                scenario.admit(Arc::clone(&record), max_records, false);
                let (status, reply) = rejected.reply();
                plan::error_reply(status, reply, &ctx)
            } else {
                let step = scenario.admit(Arc::clone(&record), max_records, true);
                plan::build(step.as_deref(), &ctx)
            }
        }
        Ok(Route::Google(endpoint)) => {
            let verdict = match endpoint {
                GoogleEndpoint::Token => {
                    google_auth::check_token_request(&state.config.google_keys, &record.body)
                }
                GoogleEndpoint::Metadata => {
                    google_auth::check_metadata_request(path, &parts.headers)
                }
            };
            let auth = AuthRequest {
                verdict,
                serial: scenario.next_auth_serial(),
            };
            let ctx = RequestCtx {
                endpoint: Endpoint::Google(endpoint, &auth),
                info: &info,
                path: &record.path,
                id: state.next_id(),
            };
            let step = scenario.admit(Arc::clone(&record), max_records, true);
            plan::build(step.as_deref(), &ctx)
        }
    };

    // From here on the guard owns the outcome: if hyper drops this future
    // (peer closed while we wait) or the body, the record says so.
    let guard = OutcomeGuard::new(record, state.started);
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
    }
    match plan.action {
        Action::Drop => {
            guard.finish(Outcome::Dropped);
            Err(DropConnection)
        }
        Action::Respond(response) => Ok(response.into_response(Some(guard))),
    }
}

/// A mock server running on the current tokio runtime, for Rust tests.
/// Dropping it stops the server and closes its connections.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Binds 127.0.0.1 on an ephemeral port.
    pub async fn start() -> io::Result<MockServer> {
        MockServer::start_with(Config::default()).await
    }

    /// Like `start`, with settings (e.g. a `root` for replay files).
    pub async fn start_with(config: Config) -> io::Result<MockServer> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        MockServer::from_listener(listener, config)
    }

    pub fn from_listener(listener: TcpListener, config: Config) -> io::Result<MockServer> {
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(config));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                let _ = accept_loop(listener, state, rx).await;
            }
        });
        Ok(MockServer {
            addr,
            state,
            shutdown,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/s/<scenario>`
    pub fn base_url(&self, scenario: &str) -> String {
        format!("http://{}/s/{scenario}", self.addr)
    }

    /// Replaces a scenario's steps (JSON maps with the keys documented in the
    /// crate docs) and clears its log.
    pub fn script(&self, scenario: &str, steps: &[Value]) -> Result<(), String> {
        if !valid_scenario_id(scenario) {
            return Err(format!("invalid scenario id {scenario:?}"));
        }
        let steps = Step::parse_list(&Value::Array(steps.to_vec()), &self.state.config.root)?;
        self.state.scenario(scenario).replace(steps, false);
        Ok(())
    }

    /// Lets the token endpoint accept assertions signed by this service
    /// account (see `GoogleKeys::add` for the accepted shapes). Returns its
    /// email.
    pub fn add_google_key(&self, service_account: &Value) -> Result<String, String> {
        self.state.config.google_keys.add(service_account)
    }

    /// Sets a scenario's AWS configuration (the map `PUT
    /// /_mock/scenarios/<id>/aws` takes) and clears its AWS counters.
    pub fn aws(&self, scenario: &str, config: &Value) -> Result<(), String> {
        if !valid_scenario_id(scenario) {
            return Err(format!("invalid scenario id {scenario:?}"));
        }
        let config = crate::aws::AwsConfig::parse(config)?;
        self.state.scenario(scenario).aws.configure(config);
        Ok(())
    }

    /// What `GET /_mock/scenarios/<id>/aws` reports, as JSON.
    pub fn aws_report(&self, scenario: &str) -> Value {
        self.state.scenario(scenario).aws.report()
    }

    /// The scenario's request log, oldest first.
    pub fn requests(&self, scenario: &str) -> Vec<Arc<Record>> {
        self.state
            .existing_scenario(scenario)
            .map(|s| s.records())
            .unwrap_or_default()
    }

    /// Waits until request `index` of `scenario` has `outcome`.
    pub async fn wait_for_outcome(
        &self,
        scenario: &str,
        index: usize,
        outcome: Outcome,
        timeout: Duration,
    ) -> Result<(), Option<Outcome>> {
        let wait = async {
            loop {
                if let Some(r) = self.requests(scenario).get(index) {
                    if r.outcome() == outcome {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| self.requests(scenario).get(index).map(|r| r.outcome()))
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
    }
}
