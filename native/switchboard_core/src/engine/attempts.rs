//! The ordered record of a call's attempts, told to the call's observer
//! (if any) as each starts and ends.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::observe::Observer;
use crate::error::Error;
use crate::response::{Attempt, Usage};
use crate::value::truncate_chars;

/// The most of a provider's body kept on each attempt's error.
pub const ATTEMPT_RAW_RESPONSE_LIMIT: usize = 1024;

#[derive(Default)]
pub struct AttemptLog {
    attempts: Mutex<Vec<Attempt>>,
    observer: Option<Arc<dyn Observer>>,
}

impl AttemptLog {
    pub fn observed(observer: Option<Arc<dyn Observer>>) -> Self {
        AttemptLog {
            attempts: Mutex::default(),
            observer,
        }
    }

    /// Who hears of this call's attempts, if anyone.
    pub fn observer(&self) -> Option<&dyn Observer> {
        self.observer.as_deref()
    }

    pub fn begin<'a>(&'a self, client: &'a str, provider: &'static str) -> PendingAttempt<'a> {
        // Attempts run one at a time, so the next index is the count so far.
        let number = self.lock().len() + 1;
        if let Some(observer) = &self.observer {
            observer.attempt_started(number, client, provider);
        }
        PendingAttempt {
            number,
            log: self,
            client,
            provider,
            started: Instant::now(),
            started_at: SystemTime::now(),
            first_token: OnceLock::new(),
            finished: false,
        }
    }

    pub fn take(&self) -> Vec<Attempt> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Attempt>> {
        self.attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, number: usize, attempt: Attempt) {
        if let Some(observer) = &self.observer {
            observer.attempt_finished(number, &attempt);
        }
        self.lock().push(attempt);
    }
}

/// An attempt under way. Dropped unfinished means the call was cancelled
/// mid-request, which is still recorded.
pub struct PendingAttempt<'a> {
    /// 1-based index in the call's attempts.
    pub number: usize,
    log: &'a AttemptLog,
    client: &'a str,
    provider: &'static str,
    started: Instant,
    /// Wall clock, for the record: dashboards line attempts up with logs.
    started_at: SystemTime,
    /// Set by the first streamed delta.
    first_token: OnceLock<Duration>,
    finished: bool,
}

impl PendingAttempt<'_> {
    /// Records the attempt and returns a copy of the record; `usage` is
    /// that of the answer it read, if any, and `cost` what that cost.
    pub fn finish(
        mut self,
        status: Option<u16>,
        error: Option<Error>,
        usage: Option<Usage>,
        cost: Option<f64>,
    ) -> Attempt {
        self.record(status, error, usage, cost)
    }

    /// A streamed delta arrived; the first one is timed and reported.
    pub fn delta_arrived(&self) {
        if self.first_token.get().is_some() {
            return;
        }
        let since_start = self.started.elapsed();
        if self.first_token.set(since_start).is_ok() {
            if let Some(observer) = &self.log.observer {
                observer.first_token(self.number, self.client, self.provider, since_start);
            }
        }
    }

    fn record(
        &mut self,
        status: Option<u16>,
        mut error: Option<Error>,
        usage: Option<Usage>,
        cost: Option<f64>,
    ) -> Attempt {
        self.finished = true;
        // The call's final error keeps the body; each attempt keeps a
        // prefix, so a call of many failed attempts stays small.
        if let Some(raw) = error.as_mut().and_then(|e| e.raw_response.as_mut()) {
            truncate_chars(raw, ATTEMPT_RAW_RESPONSE_LIMIT);
        }
        let attempt = Attempt {
            client: self.client.to_owned(),
            provider: self.provider.to_owned(),
            status,
            error,
            duration: self.started.elapsed(),
            usage,
            cost,
            started_at: self.started_at,
            time_to_first_token: self.first_token.get().copied(),
        };
        self.log.push(self.number, attempt.clone());
        attempt
    }
}

impl Drop for PendingAttempt<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let error = Error::cancelled().with_client(self.client);
            self.record(None, Some(error), None, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::error::ErrorKind;

    /// Writes down what it is told, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Observer for Recorder {
        fn attempt_started(&self, number: usize, client: &str, provider: &'static str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("start {number} {client} {provider}"));
        }

        fn attempt_finished(&self, number: usize, attempt: &Attempt) {
            let kind = attempt.error.as_ref().map(|e| e.kind);
            self.0
                .lock()
                .unwrap()
                .push(format!("stop {number} {:?} {kind:?}", attempt.status));
        }

        fn first_token(&self, number: usize, client: &str, _: &'static str, _: Duration) {
            self.0
                .lock()
                .unwrap()
                .push(format!("first {number} {client}"));
        }
    }

    #[test]
    fn the_observer_hears_each_start_first_token_and_end_once_and_in_order() {
        let recorder = Arc::new(Recorder::default());
        let log = AttemptLog::observed(Some(recorder.clone()));

        let first = log.begin("A", "openai");
        first.delta_arrived();
        first.delta_arrived();
        let failed = first.finish(
            Some(500),
            Some(Error::new(ErrorKind::Server, "down")),
            None,
            None,
        );
        assert!(failed.time_to_first_token.is_some());

        // Dropped unfinished: a cancelled attempt is still reported.
        drop(log.begin("B", "anthropic"));

        assert_eq!(
            *recorder.0.lock().unwrap(),
            [
                "start 1 A openai",
                "first 1 A",
                "stop 1 Some(500) Some(Server)",
                "start 2 B anthropic",
                "stop 2 None Some(Cancelled)",
            ]
        );
        let attempts = log.take();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[1].time_to_first_token, None);
    }
}
