//! Incremental Server-Sent Events decoding.
//!
//! Bytes arrive in whatever pieces the network hands us, so the decoder keeps
//! only the unfinished line between reads and never looks at a byte twice:
//! line ends and field colons are found with `memchr` (a word or a vector
//! at a time), and the buffers of dispatched events can be handed back
//! ([`SseDecoder::recycle`]) so a long stream does not allocate per event.
//! It follows the WHATWG event-stream parsing rules, with the differences the
//! official provider SDKs (and the recorded test vectors) rely on:
//!
//! - A block that carried any `event:`, `data:` or `id:` field is dispatched,
//!   even with no data (`event: ping` then a blank line gives data `""`).
//!   WHATWG would drop it; Anthropic sends exactly such events.
//! - An empty `event:` value is reported as `None`, the default type.
//! - `retry:` and unknown fields are ignored; they never cause a dispatch.
//! - At end of stream, an unterminated last line is read and a pending event
//!   is dispatched, because some servers end with `data: [DONE]` and no blank
//!   line. Whether the answer is complete is for the provider parser to say.
//!
//! Text is decoded per complete line, so a character split across reads is
//! never broken. Invalid UTF-8 in a line becomes U+FFFD: the payload is JSON,
//! whose parser then reports the damage, and a lossy byte in a text delta is
//! better than failing a whole answer.

use std::borrow::Cow;
use std::mem;

use crate::error::{Error, ErrorKind};

/// The largest line, or the largest event's data, accepted. Larger ones mean
/// a broken or hostile server, and buffering them could exhaust memory.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The largest buffer kept for reuse: one huge event should not stay
/// allocated for the rest of its stream.
const RECYCLE_LIMIT: usize = 64 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` for the default type ("message").
    pub event: Option<String>,
    /// All `data:` lines of the event, joined with `"\n"`.
    pub data: String,
    /// The last event ID seen so far in the stream, as WHATWG defines it:
    /// it carries over to later events that set none.
    pub id: Option<String>,
}

/// Where decoded events go: a `Vec<SseEvent>`, or a framing's own list.
pub trait EventSink {
    fn push_event(&mut self, event: SseEvent);
}

impl EventSink for Vec<SseEvent> {
    fn push_event(&mut self, event: SseEvent) {
        self.push(event);
    }
}

/// Turns a byte stream into [`SseEvent`]s.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The current line, when it started in an earlier read.
    line: Vec<u8>,
    /// The previous read ended in CR, so a leading LF finishes that CRLF.
    after_cr: bool,
    /// A first line has been read, so a BOM can no longer appear.
    started: bool,
    event: Option<String>,
    /// The buffer the next `event:` value is written into: a recycled
    /// event's, so naming events allocates nothing once the stream runs.
    spare_event: String,
    data: String,
    has_data: bool,
    /// The current block carried a field that makes it an event.
    has_fields: bool,
    last_id: Option<String>,
    /// Read lines that are no SSE field as data lines (see
    /// [`SseDecoder::with_bare_lines`]).
    bare_lines: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that also reads a line with no SSE field name (`data`,
    /// `event`, `id`, `retry`) as a data line, whole. Google streams
    /// (`alt=sse`) send an error that happens mid-stream as a bare JSON
    /// object, several lines long, outside any `data:` field; this delivers
    /// it to the parser as one event instead of dropping it.
    pub fn with_bare_lines() -> Self {
        SseDecoder {
            bare_lines: true,
            ..Self::default()
        }
    }

    /// Decodes one read, appending every event it completes to `out`.
    ///
    /// Fails with `BadResponse` when a line or an event grows past
    /// [`MAX_EVENT_BYTES`]; the stream cannot be trusted after that, so the
    /// decoder drops what it buffered and should not be fed again. Events
    /// completed before the failure are already in `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut impl EventSink) -> Result<(), Error> {
        let result = self.feed_inner(bytes, out);
        if result.is_err() {
            let bare_lines = self.bare_lines;
            *self = SseDecoder {
                bare_lines,
                ..SseDecoder::new()
            };
        }
        result
    }

    /// Ends the stream: reads an unterminated last line and dispatches the
    /// pending event, if any. The decoder is then ready for a new stream.
    ///
    /// An event that this last line would grow past [`MAX_EVENT_BYTES`] is
    /// dropped rather than reported: it is then the provider parser that
    /// finds the answer unfinished, which is what happened.
    pub fn finish(&mut self, out: &mut impl EventSink) {
        let line = mem::take(&mut self.line);
        if line.is_empty() || self.complete_line(&line, out).is_ok() {
            self.dispatch(out);
        }
        let bare_lines = self.bare_lines;
        *self = SseDecoder {
            bare_lines,
            ..SseDecoder::new()
        };
    }

    fn feed_inner(&mut self, mut bytes: &[u8], out: &mut impl EventSink) -> Result<(), Error> {
        if self.after_cr {
            if let Some((&first, rest)) = bytes.split_first() {
                self.after_cr = false;
                if first == b'\n' {
                    bytes = rest;
                }
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) {
            let (head, tail) = bytes.split_at(end);
            if self.line.is_empty() {
                self.complete_line(head, out)?;
            } else {
                self.buffer(head)?;
                // Taken out and put back so its capacity is reused.
                let mut line = mem::take(&mut self.line);
                let result = self.complete_line(&line, out);
                line.clear();
                self.line = line;
                result?;
            }
            let Some((&terminator, mut rest)) = tail.split_first() else {
                break;
            };
            if terminator == b'\r' {
                match rest.split_first() {
                    Some((b'\n', after_lf)) => rest = after_lf,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            bytes = rest;
        }
        self.buffer(bytes)
    }

    fn buffer(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.line.len() + bytes.len() > MAX_EVENT_BYTES {
            return Err(too_large("line"));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn complete_line(&mut self, mut line: &[u8], out: &mut impl EventSink) -> Result<(), Error> {
        if !self.started {
            self.started = true;
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.len() > MAX_EVENT_BYTES {
            return Err(too_large("line"));
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        let (name, value) = match memchr::memchr(b':', line) {
            // A comment, often sent as a keep-alive.
            Some(0) => return Ok(()),
            Some(colon) => {
                let (name, value) = line.split_at(colon);
                let value = value.strip_prefix(b":").unwrap_or(value);
                (name, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let known = matches!(name, b"data" | b"event" | b"id" | b"retry");
        let (name, value) = match self.bare_lines && !known {
            true => (&b"data"[..], line),
            false => (name, value),
        };
        match name {
            b"data" => {
                if self.data.len() + value.len() + 1 > MAX_EVENT_BYTES {
                    return Err(too_large("event"));
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&text(value));
                self.has_data = true;
                self.has_fields = true;
            }
            b"event" => {
                let mut name = self
                    .event
                    .take()
                    .unwrap_or_else(|| mem::take(&mut self.spare_event));
                name.clear();
                name.push_str(&text(value));
                self.event = Some(name);
                self.has_fields = true;
            }
            b"id" => {
                // WHATWG ignores IDs with NUL: they could not be sent back in
                // a Last-Event-ID header.
                if !value.contains(&0) {
                    self.last_id = Some(text(value).into_owned());
                }
                self.has_fields = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes back a dispatched event's buffers, once its reader is done
    /// with it, for the events still to come. Optional: a decoder that is
    /// never given any allocates a buffer per event instead.
    pub fn recycle(&mut self, event: SseEvent) {
        let SseEvent { event, data, .. } = event;
        let wanted = |have: usize, given: usize| have < given && given <= RECYCLE_LIMIT;
        if wanted(self.data.capacity(), data.capacity()) && !self.has_data {
            self.data = data;
            self.data.clear();
        }
        if let Some(name) = event.filter(|n| wanted(self.spare_event.capacity(), n.capacity())) {
            self.spare_event = name;
        }
    }

    fn dispatch(&mut self, out: &mut impl EventSink) {
        if !mem::take(&mut self.has_fields) {
            return;
        }
        self.has_data = false;
        out.push_event(SseEvent {
            event: self.event.take().filter(|e| !e.is_empty()),
            data: mem::take(&mut self.data),
            id: self.last_id.clone(),
        });
    }
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn too_large(what: &str) -> Error {
    Error::new(
        ErrorKind::BadResponse,
        format!(
            "the provider's event stream sent a {what} larger than {} MiB",
            MAX_EVENT_BYTES / (1024 * 1024)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_pieces(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut out: Vec<SseEvent> = Vec::new();
        for piece in pieces {
            decoder.feed(piece, &mut out).expect("feed");
        }
        decoder.finish(&mut out);
        out
    }

    /// As `decode_pieces`, handing every event's buffers back to the
    /// decoder once it is read, as the engine does.
    fn decode_recycling(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let (mut got, mut out): (Vec<SseEvent>, Vec<SseEvent>) = (Vec::new(), Vec::new());
        for piece in pieces {
            decoder.feed(piece, &mut out).expect("feed");
            for event in out.drain(..) {
                got.push(event.clone());
                decoder.recycle(event);
            }
        }
        decoder.finish(&mut got);
        got
    }

    fn decode(bytes: &[u8]) -> Vec<SseEvent> {
        decode_pieces(&[bytes])
    }

    fn decode_bytewise(bytes: &[u8]) -> Vec<SseEvent> {
        let pieces: Vec<&[u8]> = bytes.chunks(1).collect();
        decode_pieces(&pieces)
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
            id: None,
        }
    }

    #[test]
    fn bare_lines_are_data_only_when_asked() {
        let body = b"data: {\"a\":1}\r\n\r\n{\r\n  \"error\": {\"code\": 499}\r\n}\r\n: comment\r\nretry: 5\r\n";
        let mut decoder = SseDecoder::with_bare_lines();
        let mut out: Vec<SseEvent> = Vec::new();
        for piece in body.chunks(3) {
            decoder.feed(piece, &mut out).expect("feed");
        }
        decoder.finish(&mut out);
        assert_eq!(
            out,
            vec![
                ev(None, "{\"a\":1}"),
                ev(None, "{\n  \"error\": {\"code\": 499}\n}")
            ]
        );
        assert!(decoder.bare_lines, "kept after finish");
        assert_eq!(decode(body), vec![ev(None, "{\"a\":1}")]);
    }

    #[test]
    fn basic_event() {
        let got = decode(b"event: completion\ndata: {\"a\":1}\n\n");
        assert_eq!(got, vec![ev(Some("completion"), "{\"a\":1}")]);
    }

    #[test]
    fn every_line_ending_and_every_split_agree() {
        let lf = b"event: a\ndata: 1\ndata: 2\n\nevent: b\ndata: 3\n\n".to_vec();
        let expected = vec![ev(Some("a"), "1\n2"), ev(Some("b"), "3")];
        let crlf = String::from_utf8(lf.clone())
            .expect("utf8")
            .replace('\n', "\r\n")
            .into_bytes();
        let cr = String::from_utf8(lf.clone())
            .expect("utf8")
            .replace('\n', "\r")
            .into_bytes();
        for body in [&lf, &crlf, &cr] {
            assert_eq!(decode(body), expected);
            assert_eq!(decode_bytewise(body), expected);
            for split in 0..=body.len() {
                let (a, b) = body.split_at(split);
                assert_eq!(decode_pieces(&[a, b]), expected, "split at {split}");
            }
        }
    }

    #[test]
    fn recycled_buffers_change_no_event() {
        // Longer events first, so a recycled buffer holds more than the next
        // event's text; an empty data line and an empty event name between.
        let body = b"event: long-name\ndata: a long first payload\ndata: 2\n\n\
event: b\ndata:\n\nevent:\ndata: x\n\ndata: y\nid: 3\n\nevent: c\n\n";
        let expected = decode(body);
        assert_eq!(expected.len(), 5);
        for split in 0..=body.len() {
            let (a, b) = body.split_at(split);
            assert_eq!(decode_recycling(&[a, b]), expected, "split at {split}");
        }
        let bytewise: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode_recycling(&bytewise), expected);
    }

    #[test]
    fn crlf_split_between_reads_is_one_line_ending() {
        // Were the LF read as a second line ending, the empty line would
        // dispatch "1" alone before "2" arrives.
        let got = decode_pieces(&[b"data: 1\r", b"\ndata: 2\r", b"\n\r", b"\n"]);
        assert_eq!(got, vec![ev(None, "1\n2")]);
        let got = decode_pieces(&[b"data: 1\r", b"", b"\n\r\n"]);
        assert_eq!(got, vec![ev(None, "1")]);
    }

    #[test]
    fn cr_only_line_endings() {
        assert_eq!(
            decode(b"event: x\rdata: y\r\rdata: z\r\r"),
            vec![ev(Some("x"), "y"), ev(None, "z")]
        );
    }

    #[test]
    fn utf8_split_at_every_position_survives() {
        for ch in ["é", "€", "😀", "известни"] {
            let body = format!("data: a{ch}b\n\n").into_bytes();
            for split in 0..=body.len() {
                let (a, b) = body.split_at(split);
                assert_eq!(
                    decode_pieces(&[a, b]),
                    vec![ev(None, &format!("a{ch}b"))],
                    "{ch} split at {split}"
                );
            }
            assert_eq!(decode_bytewise(&body), vec![ev(None, &format!("a{ch}b"))]);
        }
    }

    #[test]
    fn four_byte_character_split_in_three_places() {
        let got = decode_pieces(&[b"data: \xF0", b"\x9F", b"\x98", b"\x80!\n\n"]);
        assert_eq!(got, vec![ev(None, "😀!")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(decode(b"data: a\xFFb\n\n"), vec![ev(None, "a\u{FFFD}b")]);
    }

    #[test]
    fn comments_are_ignored() {
        let got = decode(b": keep-alive\n\n:another\ndata: x\n: inside\n\n");
        assert_eq!(got, vec![ev(None, "x")]);
    }

    #[test]
    fn leading_bom_is_ignored_once() {
        let expected = vec![ev(None, "x")];
        assert_eq!(decode(b"\xEF\xBB\xBFdata: x\n\n"), expected);
        assert_eq!(decode_bytewise(b"\xEF\xBB\xBFdata: x\n\n"), expected);
        // Only at the very start: later it is part of a field name.
        assert_eq!(decode(b"data: x\n\n\xEF\xBB\xBFdata: y\n\n"), expected);
    }

    #[test]
    fn retry_and_unknown_fields_are_ignored() {
        assert_eq!(decode(b"retry: 1000\n\n"), vec![]);
        assert_eq!(
            decode(b"retry: 1000\nfoo: bar\ndata: x\n\n"),
            vec![ev(None, "x")]
        );
    }

    #[test]
    fn field_value_space_and_colon_rules() {
        // One leading space is stripped, no more; a bare field name has an
        // empty value; only the first colon separates.
        assert_eq!(decode(b"data:  two\n\n"), vec![ev(None, " two")]);
        assert_eq!(decode(b"data:x:y\n\n"), vec![ev(None, "x:y")]);
        assert_eq!(decode(b"data\ndata\n\n"), vec![ev(None, "\n")]);
    }

    #[test]
    fn blank_lines_without_fields_dispatch_nothing() {
        assert_eq!(decode(b"\n\n\r\n\r"), vec![]);
    }

    #[test]
    fn event_without_data_is_dispatched() {
        assert_eq!(decode(b"event: ping\n\n"), vec![ev(Some("ping"), "")]);
    }

    #[test]
    fn empty_event_name_is_the_default_type() {
        assert_eq!(decode(b"event:\ndata: x\n\n"), vec![ev(None, "x")]);
    }

    #[test]
    fn last_event_id_carries_over() {
        let got = decode(b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n");
        let ids: Vec<Option<&str>> = got.iter().map(|e| e.id.as_deref()).collect();
        assert_eq!(ids, vec![Some("7"), Some("7"), Some(""), Some("")]);
    }

    #[test]
    fn end_of_stream_dispatches_a_pending_event() {
        assert_eq!(decode(b"data: [DONE]"), vec![ev(None, "[DONE]")]);
        assert_eq!(decode(b"data: [DONE]\n"), vec![ev(None, "[DONE]")]);
        assert_eq!(decode(b"data: [DONE]\r"), vec![ev(None, "[DONE]")]);
    }

    #[test]
    fn decoder_is_reusable_after_finish() {
        let mut decoder = SseDecoder::new();
        let mut out: Vec<SseEvent> = Vec::new();
        decoder.feed(b"data: a\r", &mut out).expect("feed");
        decoder.finish(&mut out);
        decoder
            .feed(b"\xEF\xBB\xBF\ndata: b\n\n", &mut out)
            .expect("feed");
        assert_eq!(out, vec![ev(None, "a"), ev(None, "b")]);
    }

    #[test]
    fn oversized_line_is_an_error() {
        let mut decoder = SseDecoder::new();
        let mut out: Vec<SseEvent> = Vec::new();
        let piece = vec![b'x'; 1024 * 1024];
        decoder.feed(b"data: ", &mut out).expect("feed");
        let mut failed = None;
        for i in 0..17 {
            if let Err(e) = decoder.feed(&piece, &mut out) {
                failed = Some((i, e));
                break;
            }
        }
        let (i, e) = failed.expect("the line must be refused");
        assert_eq!(i, 15);
        assert_eq!(e.kind, ErrorKind::BadResponse);
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut decoder = SseDecoder::new();
        let mut out: Vec<SseEvent> = Vec::new();
        let mut line = b"data: ".to_vec();
        line.extend(std::iter::repeat_n(b'x', 1024 * 1024));
        line.push(b'\n');
        let mut result = Ok(());
        for _ in 0..17 {
            result = decoder.feed(&line, &mut out);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result.map_err(|e| e.kind), Err(ErrorKind::BadResponse));
        assert!(out.is_empty());
    }
}
