//! The ordered record of a call's attempts.

use std::sync::Mutex;

use tokio::time::Instant;

use crate::error::Error;
use crate::response::{Attempt, Usage};
use crate::value::truncate_chars;

/// The most of a provider's body kept on each attempt's error.
pub const ATTEMPT_RAW_RESPONSE_LIMIT: usize = 1024;

#[derive(Default)]
pub struct AttemptLog {
    attempts: Mutex<Vec<Attempt>>,
}

impl AttemptLog {
    pub fn begin<'a>(&'a self, client: &'a str, provider: &'static str) -> PendingAttempt<'a> {
        // Attempts run one at a time, so the next index is the count so far.
        let number = self.lock().len() + 1;
        PendingAttempt {
            number,
            log: self,
            client,
            provider,
            started: Instant::now(),
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

    fn push(&self, attempt: Attempt) {
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
        };
        self.log.push(attempt.clone());
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
