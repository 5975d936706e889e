//! The earliest moment a part of a call must give up by, and who set it.

use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind};

#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Call,
    Client(&'a str),
}

#[derive(Debug, Clone, Copy)]
pub struct Deadline<'a> {
    at: Option<(Instant, Duration, Source<'a>)>,
}

impl<'a> Deadline<'a> {
    /// The caller's `timeout:` for the whole call.
    pub fn for_call(timeout: Option<Duration>) -> Self {
        Deadline {
            at: timeout.map(|t| (Instant::now() + t, t, Source::Call)),
        }
    }

    /// This deadline, or the client's `total_timeout_ms` from now if sooner.
    pub fn tighten(self, client: &'a str, total_timeout: Option<Duration>) -> Self {
        let Some(t) = total_timeout else { return self };
        let candidate = Instant::now() + t;
        match self.at {
            Some((at, _, _)) if at <= candidate => self,
            _ => Deadline {
                at: Some((candidate, t, Source::Client(client))),
            },
        }
    }

    pub fn instant(&self) -> Option<Instant> {
        self.at.map(|(at, _, _)| at)
    }

    pub fn passed(&self) -> bool {
        self.instant().is_some_and(|at| Instant::now() >= at)
    }

    /// Whether `delay` from now ends after the deadline.
    pub fn cuts_short(&self, delay: Duration) -> bool {
        self.instant()
            .is_some_and(|at| Instant::now() + delay >= at)
    }

    pub fn error(&self) -> Error {
        let message = match self.at {
            Some((_, t, Source::Call)) => {
                format!("the call's total timeout ({} ms) elapsed", t.as_millis())
            }
            Some((_, t, Source::Client(name))) => format!(
                "total_timeout_ms ({} ms) of client {name:?} elapsed",
                t.as_millis()
            ),
            None => "timed out".to_owned(),
        };
        Error::new(ErrorKind::Timeout, message)
    }
}
