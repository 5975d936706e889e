//! Scenario queues and the request log.
//!
//! Locks here are plain `std::sync` locks held for a few pointer moves; none is
//! ever held across an `.await`, so a slow or stalled response never blocks
//! another request.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::Instant;

use bytes::Bytes;

use crate::aws::{Keyring, ScenarioAws};
use crate::files::FileRoot;
use crate::google_auth::GoogleKeys;
use crate::step::{Repeat, Step};

/// Records kept per scenario unless configured otherwise. Benchmarks push
/// millions of requests through one scenario; the log must not grow forever.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Requests recorded per scenario; later ones are served but not logged.
    pub max_records: usize,
    /// Service accounts whose assertions the token endpoint accepts from the
    /// start; more can be added through the control API.
    pub google_keys: GoogleKeys,
    /// The folder replay steps and the control API's file readers may read
    /// from; none by default, so no file is read.
    pub root: FileRoot,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_records: DEFAULT_MAX_RECORDS,
            google_keys: GoogleKeys::default(),
            root: FileRoot::default(),
        }
    }
}

/// What finally happened to a recorded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The response is still being produced.
    Pending,
    /// The whole scripted response was handed to the connection.
    Completed,
    /// The peer went away before the response was finished.
    ClientDisconnected,
    /// The mock closed the connection on purpose (`drop`, `truncate_at`, `truncate_after`).
    Dropped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Completed => "completed",
            Outcome::ClientDisconnected => "client_disconnected",
            Outcome::Dropped => "dropped",
        }
    }

    fn from_tag(v: u64) -> Outcome {
        match v {
            1 => Outcome::Completed,
            2 => Outcome::ClientDisconnected,
            3 => Outcome::Dropped,
            _ => Outcome::Pending,
        }
    }

    fn tag(self) -> u64 {
        match self {
            Outcome::Pending => 0,
            Outcome::Completed => 1,
            Outcome::ClientDisconnected => 2,
            Outcome::Dropped => 3,
        }
    }
}

// Outcome and finish time share one atomic word (tag in the top two bits) so a
// reader never sees an outcome without its time.
const TAG_SHIFT: u32 = 62;
const TIME_MASK: u64 = (1 << TAG_SHIFT) - 1;

/// One provider request as the mock saw it.
#[derive(Debug)]
pub struct Record {
    pub method: String,
    /// Path without the `/s/<scenario>` prefix.
    pub path: String,
    /// Raw query string without `?`; empty when absent.
    pub query: String,
    /// Lowercased names, in arrival order, duplicates kept.
    pub headers: Vec<(String, Bytes)>,
    pub body: Bytes,
    /// Microseconds since server start (monotonic clock).
    pub received_at_us: u64,
    /// `"HTTP/1.1"` or `"HTTP/2.0"`.
    pub version: &'static str,
    /// Which of the server's accepted connections carried it, numbered
    /// from 1 in accept order.
    pub connection: u64,
    /// How the request's `Authorization` was judged, when the scenario
    /// checks it: `"sigv4"`, `"bearer"` or `"rejected"`.
    pub auth: Option<&'static str>,
    // Atomics rather than a lock: the response path updates these after the
    // record is already visible to readers of the log.
    finish: AtomicU64,
    status: AtomicU16,
    /// The scenario's count of requests being answered, which this one
    /// leaves when its outcome is settled; set when it is admitted.
    in_flight: OnceLock<Arc<InFlight>>,
}

impl Record {
    pub fn new(
        method: String,
        path: String,
        query: String,
        headers: Vec<(String, Bytes)>,
        body: Bytes,
        received_at_us: u64,
        version: &'static str,
    ) -> Record {
        Record {
            method,
            path,
            query,
            headers,
            body,
            received_at_us,
            version,
            connection: 0,
            auth: None,
            finish: AtomicU64::new(0),
            status: AtomicU16::new(0),
            in_flight: OnceLock::new(),
        }
    }

    pub fn with_connection(mut self, connection: u64) -> Record {
        self.connection = connection;
        self
    }

    pub fn with_auth(mut self, auth: Option<&'static str>) -> Record {
        self.auth = auth;
        self
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome_and_time().0
    }

    pub fn finished_at_us(&self) -> Option<u64> {
        self.outcome_and_time().1
    }

    /// Both read from one load, so they always agree.
    pub fn outcome_and_time(&self) -> (Outcome, Option<u64>) {
        let word = self.finish.load(Ordering::Acquire);
        match Outcome::from_tag(word >> TAG_SHIFT) {
            Outcome::Pending => (Outcome::Pending, None),
            outcome => (outcome, Some(word & TIME_MASK)),
        }
    }

    /// HTTP status the mock answered with; `None` when it sent no head.
    pub fn status(&self) -> Option<u16> {
        match self.status.load(Ordering::Acquire) {
            0 => None,
            s => Some(s),
        }
    }

    pub(crate) fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::Release);
    }

    /// First final outcome wins; later calls are ignored.
    pub(crate) fn finish(&self, outcome: Outcome, at_us: u64) {
        let word = (outcome.tag() << TAG_SHIFT) | (at_us & TIME_MASK);
        let settled = self
            .finish
            .compare_exchange(0, word, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if let (true, Some(gauge)) = (settled, self.in_flight.get()) {
            gauge.leave();
        }
    }
}

/// Settles a record's outcome. Whoever owns the guard owns the response; if
/// hyper drops it before the response finished, the peer went away.
#[derive(Debug)]
pub struct OutcomeGuard {
    record: Arc<Record>,
    started: Instant,
}

impl OutcomeGuard {
    pub fn new(record: Arc<Record>, started: Instant) -> OutcomeGuard {
        OutcomeGuard { record, started }
    }

    pub fn set_status(&self, status: u16) {
        self.record.set_status(status);
    }

    pub fn finish(&self, outcome: Outcome) {
        self.record.finish(outcome, micros_since(self.started));
    }
}

impl Drop for OutcomeGuard {
    fn drop(&mut self) {
        self.finish(Outcome::ClientDisconnected);
    }
}

pub(crate) fn micros_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX - 1)
}

/// Requests of a scenario being answered now, and the most at once:
/// what a test of a client-side concurrency limit reads. A request is
/// answered from its admission until its outcome is settled (completion
/// is settled as its last byte is handed to the connection, before the
/// client can read it).
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicU64,
    peak: AtomicU64,
    /// Requests admitted since the scenario was last scripted.
    admitted: AtomicU64,
}

impl InFlight {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(now, Ordering::AcqRel);
        self.admitted.fetch_add(1, Ordering::Relaxed);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::AcqRel);
    }

    /// A new script counts from here: the peak restarts at what is
    /// still in flight.
    fn restart(&self) {
        self.peak
            .store(self.now.load(Ordering::Acquire), Ordering::Release);
        self.admitted.store(0, Ordering::Relaxed);
    }

    /// `(in flight now, peak, admitted)`.
    pub fn read(&self) -> (u64, u64, u64) {
        (
            self.now.load(Ordering::Acquire),
            self.peak.load(Ordering::Acquire),
            self.admitted.load(Ordering::Relaxed),
        )
    }
}

#[derive(Debug, Clone)]
struct QueuedStep {
    step: Arc<Step>,
    remaining: Repeat,
}

#[derive(Debug, Default)]
struct ScenarioInner {
    steps: VecDeque<QueuedStep>,
    /// The whole script again, when it was put with `"cycle": true`: taken
    /// up once the last step is used, so a soak can mix faults into an
    /// endless run at a fixed rate.
    cycle: Option<VecDeque<QueuedStep>>,
    records: Vec<Arc<Record>>,
    /// Requests to the token endpoint or metadata server so far.
    auth_requests: u64,
}

#[derive(Debug, Default)]
pub struct Scenario {
    inner: Mutex<ScenarioInner>,
    /// AWS settings and credential-endpoint counters; kept when the steps
    /// are replaced, gone with the scenario.
    pub aws: ScenarioAws,
    pub in_flight: Arc<InFlight>,
}

impl Scenario {
    fn lock(&self) -> MutexGuard<'_, ScenarioInner> {
        // A panic elsewhere must not turn every later request into a 500.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs `record` and, when `take_step`, takes the step that answers it,
    /// atomically, so the n-th logged request is the one that consumed the
    /// n-th step.
    pub fn admit(
        &self,
        record: Arc<Record>,
        max_records: usize,
        take_step: bool,
    ) -> Option<Arc<Step>> {
        if record.in_flight.set(Arc::clone(&self.in_flight)).is_ok() {
            self.in_flight.enter();
        }
        let mut inner = self.lock();
        if inner.records.len() < max_records {
            inner.records.push(record);
        }
        if !take_step {
            return None;
        }
        let front = inner.steps.front_mut()?;
        let step = Arc::clone(&front.step);
        match &mut front.remaining {
            Repeat::Forever => {}
            Repeat::Times(n) if *n > 1 => *n -= 1,
            Repeat::Times(_) => {
                inner.steps.pop_front();
                if inner.steps.is_empty() {
                    if let Some(again) = &inner.cycle {
                        inner.steps = again.clone();
                    }
                }
            }
        }
        Some(step)
    }

    /// Numbers the scenario's auth requests 1, 2, …; a new script restarts.
    pub fn next_auth_serial(&self) -> u64 {
        let mut inner = self.lock();
        inner.auth_requests += 1;
        inner.auth_requests
    }

    /// `cycle`: start the script again after its last step.
    pub fn replace(&self, steps: Vec<Step>, cycle: bool) {
        let mut inner = self.lock();
        inner.auth_requests = 0;
        inner.steps = steps
            .into_iter()
            .map(|step| QueuedStep {
                remaining: step.repeat,
                step: Arc::new(step),
            })
            .collect();
        inner.cycle = cycle.then(|| inner.steps.clone());
        inner.records.clear();
        self.in_flight.restart();
    }

    pub fn records(&self) -> Vec<Arc<Record>> {
        self.lock().records.clone()
    }
}

/// Everything the server shares between connections.
#[derive(Debug)]
pub struct State {
    pub(crate) started: Instant,
    pub(crate) config: Config,
    scenarios: RwLock<HashMap<String, Arc<Scenario>>>,
    next_id: AtomicU64,
    pub(crate) blackhole: tokio::sync::OnceCell<crate::blackhole::Blackhole>,
    /// Credentials handed out by any scenario's credential endpoints.
    pub(crate) keyring: Keyring,
}

impl State {
    pub fn new(config: Config) -> State {
        State {
            started: Instant::now(),
            config,
            scenarios: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            blackhole: tokio::sync::OnceCell::new(),
            keyring: Keyring::default(),
        }
    }

    pub fn now_us(&self) -> u64 {
        micros_since(self.started)
    }

    /// A process-unique number for response and request ids.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn scenario(&self, id: &str) -> Arc<Scenario> {
        {
            let map = self
                .scenarios
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = map.get(id) {
                return Arc::clone(s);
            }
        }
        let mut map = self
            .scenarios
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(id.to_owned()).or_default())
    }

    pub fn existing_scenario(&self, id: &str) -> Option<Arc<Scenario>> {
        let map = self
            .scenarios
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(id).cloned()
    }

    pub fn remove_scenario(&self, id: &str) {
        let mut map = self
            .scenarios
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        map.remove(id);
    }
}

/// Scenario ids are path segments; keep them to a charset that needs no escaping.
pub fn valid_scenario_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
