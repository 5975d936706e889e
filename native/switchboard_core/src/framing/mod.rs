//! How a streamed answer is cut into frames. A provider names its framing;
//! the engine feeds the body's reads through the matching decoder and hands
//! each frame to the provider's stream parser.
//!
//! Server-sent events are the only framing today. AWS's binary event stream
//! becomes a second [`Framing`] variant with its own [`Frame`]; a stream that
//! ends with its body (Gemini) is SSE whose parser decides at
//! the stream parser's `end_of_body` whether it was complete.

pub mod sse;

use crate::error::Error;
use sse::{EventSink, SseDecoder, SseEvent};

/// The framing of a provider's streamed answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `text/event-stream`.
    Sse,
    /// `text/event-stream` in which a line outside any field is data too:
    /// Google's streams send a mid-stream error as a bare JSON object.
    SseBareLines,
}

/// One unit of a stream, as its framing delimits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Sse(SseEvent),
}

/// Turns a body's reads into frames, keeping what is unfinished between reads.
#[derive(Debug)]
pub enum FrameDecoder {
    Sse(SseDecoder),
}

impl FrameDecoder {
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::Sse => FrameDecoder::Sse(SseDecoder::new()),
            Framing::SseBareLines => FrameDecoder::Sse(SseDecoder::with_bare_lines()),
        }
    }

    /// Decodes one read, appending each frame it completes to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), Error> {
        match self {
            FrameDecoder::Sse(d) => d.feed(bytes, out),
        }
    }

    /// The body ended: completes what can be completed.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), Error> {
        match self {
            FrameDecoder::Sse(d) => {
                d.finish(out);
                Ok(())
            }
        }
    }
}

impl EventSink for Vec<Frame> {
    fn push_event(&mut self, event: SseEvent) {
        self.push(Frame::Sse(event));
    }
}
