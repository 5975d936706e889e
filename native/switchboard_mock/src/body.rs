//! The response body: a list of pieces written with scripted gaps, ending
//! cleanly, by stalling, or by cutting the connection.
//!
//! Each gap returns `Pending` to hyper, which makes hyper flush what it has
//! buffered, so every piece leaves in its own write.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use crate::state::{Outcome, OutcomeGuard};

/// What to wait for before writing a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Write together with whatever precedes it.
    Immediate,
    /// Flush first, then continue on the next poll.
    Yield,
    /// Flush, then wait.
    Sleep(Duration),
}

#[derive(Debug, Clone)]
pub struct Piece {
    pub gap: Gap,
    pub data: Bytes,
}

/// What happens after the last piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Finish the response normally.
    Complete,
    /// Send nothing more; hold the connection until the peer leaves.
    Stall,
    /// Close the connection without finishing the response.
    Abort,
}

/// Time given to hyper to flush the last piece before an abort tears the
/// connection down; hyper discards unflushed bytes when a body errors.
const ABORT_FLUSH_GRACE: Duration = Duration::from_millis(20);

/// Returned to hyper to make it close the connection mid-response.
#[derive(Debug)]
pub struct Aborted;

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response aborted on purpose by the mock script")
    }
}

impl std::error::Error for Aborted {}

pub struct MockBody {
    pieces: VecDeque<Piece>,
    ending: Ending,
    remaining_len: u64,
    /// Let hyper announce the length; off for streams, which go chunked like
    /// the real APIs' SSE responses.
    sized: bool,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The front piece's gap has been served.
    gap_done: bool,
    aborting: bool,
    guard: Option<OutcomeGuard>,
    /// Sent again each time the pieces run out: a body that never ends.
    refill: Option<Piece>,
}

impl fmt::Debug for MockBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockBody")
            .field("pieces", &self.pieces.len())
            .field("ending", &self.ending)
            .finish()
    }
}

impl MockBody {
    pub fn new(pieces: Vec<Piece>, ending: Ending, guard: Option<OutcomeGuard>) -> MockBody {
        let pieces: VecDeque<Piece> = pieces.into_iter().filter(|p| !p.data.is_empty()).collect();
        let remaining_len = pieces.iter().map(|p| p.data.len() as u64).sum();
        MockBody {
            pieces,
            ending,
            remaining_len,
            sized: true,
            sleep: None,
            gap_done: false,
            aborting: false,
            guard,
            refill: None,
        }
    }

    /// After its pieces, the body repeats `filler` until the peer leaves.
    pub fn endless(mut self, filler: Piece) -> MockBody {
        self.refill = Some(filler);
        self
    }

    /// Sends the body with chunked transfer encoding.
    pub fn chunked(mut self) -> MockBody {
        self.sized = false;
        self
    }

    /// A plain in-memory body (control API answers).
    pub fn full(data: impl Into<Bytes>) -> MockBody {
        MockBody::new(
            vec![Piece {
                gap: Gap::Immediate,
                data: data.into(),
            }],
            Ending::Complete,
            None,
        )
    }

    pub fn empty() -> MockBody {
        MockBody::new(Vec::new(), Ending::Complete, None)
    }

    fn finish(&mut self, outcome: Outcome) {
        if let Some(guard) = self.guard.take() {
            guard.finish(outcome);
        }
    }

    fn all_sent(&self) -> bool {
        self.pieces.is_empty() && self.ending == Ending::Complete && self.refill.is_none()
    }

    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self.ending {
            Ending::Complete => {
                self.finish(Outcome::Completed);
                Poll::Ready(None)
            }
            // No waker is registered: only the peer leaving, which makes hyper
            // drop this body, ends a stall.
            Ending::Stall => Poll::Pending,
            Ending::Abort => {
                if !self.aborting {
                    self.aborting = true;
                    self.sleep = Some(Box::pin(tokio::time::sleep(ABORT_FLUSH_GRACE)));
                }
                if let Some(sleep) = self.sleep.as_mut() {
                    ready!(sleep.as_mut().poll(cx));
                    self.sleep = None;
                }
                self.finish(Outcome::Dropped);
                Poll::Ready(Some(Err(Aborted)))
            }
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        let this = self.get_mut();
        loop {
            if this.pieces.is_empty() {
                if let Some(filler) = &this.refill {
                    this.remaining_len += filler.data.len() as u64;
                    this.pieces.push_back(filler.clone());
                }
            }
            let Some(front) = this.pieces.front() else {
                return this.poll_end(cx);
            };
            if !this.gap_done {
                match front.gap {
                    Gap::Immediate => {}
                    Gap::Yield => {
                        this.gap_done = true;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Gap::Sleep(d) => {
                        let sleep = this
                            .sleep
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep(d)));
                        ready!(sleep.as_mut().poll(cx));
                        this.sleep = None;
                    }
                }
            }
            this.gap_done = false;
            let Some(piece) = this.pieces.pop_front() else {
                continue;
            };
            this.remaining_len -= piece.data.len() as u64;
            if this.all_sent() {
                // hyper may never poll again once a sized body is fully
                // written, so completion is recorded with the last piece.
                this.finish(Outcome::Completed);
            }
            return Poll::Ready(Some(Ok(Frame::data(piece.data))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.all_sent()
    }

    fn size_hint(&self) -> SizeHint {
        // Only a body that ends normally has a length hyper may announce;
        // aborted bodies carry an explicit Content-Length header instead.
        if self.sized && self.ending == Ending::Complete {
            SizeHint::with_exact(self.remaining_len)
        } else {
            SizeHint::default()
        }
    }
}

impl Drop for MockBody {
    fn drop(&mut self) {
        // A finished body may be dropped unpolled (empty bodies, sized
        // bodies); anything else dropped early means the peer left.
        if self.all_sent() {
            self.finish(Outcome::Completed);
        }
    }
}
