//! How a streamed answer is cut into frames. A provider names its framing;
//! the engine feeds the body's reads through the matching decoder and hands
//! each frame to the provider's stream parser.
//!
//! Three framings: server-sent events, SSE in which bare lines are data
//! too (Google's mid-stream errors), and AWS's binary event stream
//! (Bedrock). A stream that ends with its body (Gemini) is SSE whose parser
//! decides at the stream parser's `end_of_body` whether it was complete.

pub mod event_stream;
pub mod sse;
#[cfg(test)]
mod timing;

use crate::error::Error;
use event_stream::EventStreamDecoder;
use sse::{EventSink, SseDecoder, SseEvent};

/// The framing of a provider's streamed answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `text/event-stream`.
    Sse,
    /// `text/event-stream` in which a line outside any field is data too:
    /// Google's streams send a mid-stream error as a bare JSON object.
    SseBareLines,
    /// `application/vnd.amazon.eventstream`.
    AwsEventStream,
}

/// One unit of a stream, as its framing delimits it.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Sse(SseEvent),
    /// An event-stream message, CRCs checked.
    AwsEvent(event_stream::Message),
}

impl Frame {
    /// The SSE event, for parsers of SSE streams; another frame means the
    /// provider named the wrong framing.
    pub fn sse(&self) -> Result<&SseEvent, Error> {
        match self {
            Frame::Sse(event) => Ok(event),
            Frame::AwsEvent(_) => Err(Error::bad_response(
                "expected a server-sent event, got an AWS event-stream message",
            )),
        }
    }

    /// The event-stream message, for parsers of AWS event streams.
    pub fn aws_event(&self) -> Result<&event_stream::Message, Error> {
        match self {
            Frame::AwsEvent(message) => Ok(message),
            Frame::Sse(_) => Err(Error::bad_response(
                "expected an AWS event-stream message, got a server-sent event",
            )),
        }
    }
}

/// Turns a body's reads into frames, keeping what is unfinished between reads.
#[derive(Debug)]
pub enum FrameDecoder {
    Sse(SseDecoder),
    AwsEventStream(EventStreamDecoder),
}

impl FrameDecoder {
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::Sse => FrameDecoder::Sse(SseDecoder::new()),
            Framing::SseBareLines => FrameDecoder::Sse(SseDecoder::with_bare_lines()),
            Framing::AwsEventStream => FrameDecoder::AwsEventStream(EventStreamDecoder::new()),
        }
    }

    /// Decodes one read, appending each frame it completes to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), Error> {
        match self {
            FrameDecoder::Sse(d) => d.feed(bytes, out),
            FrameDecoder::AwsEventStream(d) => {
                d.feed(bytes, &mut |message| out.push(Frame::AwsEvent(message)))
            }
        }
    }

    /// Takes back a frame its reader is done with, so the decoder reuses
    /// its buffers for the frames still to come.
    pub fn recycle(&mut self, frame: Frame) {
        if let (FrameDecoder::Sse(d), Frame::Sse(event)) = (self, frame) {
            d.recycle(event);
        }
    }

    /// The body ended: completes what can be completed; an event-stream
    /// message cut short is a `Network` error.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), Error> {
        match self {
            FrameDecoder::Sse(d) => {
                d.finish(out);
                Ok(())
            }
            FrameDecoder::AwsEventStream(d) => d.finish(),
        }
    }
}

impl EventSink for Vec<Frame> {
    fn push_event(&mut self, event: SseEvent) {
        self.push(Frame::Sse(event));
    }
}
