//! AWS event-stream decoding (`application/vnd.amazon.eventstream`), the
//! binary framing of Bedrock's ConverseStream.
//!
//! Each message is a 12-byte prelude (total length, headers length, prelude
//! CRC32), headers, a payload and a message CRC32. Messages are read by the
//! AWS SDK's own decoder (`aws-smithy-eventstream`), which checks both CRCs
//! and every header. This module only cuts the body's reads into whole
//! messages, and checks each prelude as soon as its 12 bytes are in: that
//! decoder checks the prelude only once the whole message has arrived, so a
//! corrupt length would otherwise have us wait for bytes that never come.
//!
//! A corrupt message is a `BadResponse` error; a body that ends inside a
//! message was cut and is a `Network` error.

use aws_smithy_eventstream::frame::read_message_from;
use bytes::{Buf, BytesMut};

pub use aws_smithy_types::event_stream::{Header, HeaderValue, Message};

use crate::error::{Error, ErrorKind};

const PRELUDE_BYTES: usize = 12;
const MESSAGE_CRC_BYTES: usize = 4;

/// The largest message accepted: the limit of the AWS event-stream
/// implementations (aws-c-event-stream, the SDKs). A larger one means a
/// broken stream, and buffering it could exhaust memory.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Turns a byte stream into event-stream [`Message`]s.
#[derive(Debug, Default)]
pub struct EventStreamDecoder {
    /// Bytes of the message not complete yet.
    buf: BytesMut,
    /// The total length of the message in `buf`, once its prelude checked out.
    expected: Option<usize>,
}

impl EventStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one read, calling `emit` with each message it completes.
    pub fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(Message)) -> Result<(), Error> {
        // Whole messages straight from the read, without copying them into
        // the buffer first, when nothing is pending.
        while self.buf.is_empty() && !bytes.is_empty() {
            match Self::checked_length(bytes)? {
                Some(total) if bytes.len() >= total => {
                    emit(Self::read(&bytes[..total])?);
                    bytes = &bytes[total..];
                }
                _ => break,
            }
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let total = match self.expected {
                Some(total) => total,
                None => match Self::checked_length(&self.buf)? {
                    Some(total) => {
                        self.expected = Some(total);
                        total
                    }
                    None => return Ok(()),
                },
            };
            if self.buf.len() < total {
                return Ok(());
            }
            let message = self.buf.split_to(total);
            self.expected = None;
            emit(Self::read(&message)?);
        }
    }

    /// The body ended: anything left over is a message cut short.
    pub fn finish(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let got = self.buf.len();
        self.buf.clear();
        let of = match self.expected.take() {
            Some(total) => format!(" of {total}"),
            None => String::new(),
        };
        Err(Error::new(
            ErrorKind::Network,
            format!("the stream ended in the middle of an event-stream message ({got}{of} bytes)"),
        ))
    }

    /// The total length of the message starting `bytes`, once its prelude
    /// is in and its CRC matches; `None` while the prelude is incomplete.
    fn checked_length(bytes: &[u8]) -> Result<Option<usize>, Error> {
        if bytes.len() < PRELUDE_BYTES {
            return Ok(None);
        }
        let mut prelude = &bytes[..PRELUDE_BYTES];
        let total = prelude.get_u32() as usize;
        let headers = prelude.get_u32() as usize;
        let crc = prelude.get_u32();
        let expected_crc = crc32fast::hash(&bytes[..8]);
        if crc != expected_crc {
            return Err(corrupt(format!(
                "prelude checksum mismatch (expected {expected_crc:#010x}, found {crc:#010x})"
            )));
        }
        if total < PRELUDE_BYTES + MESSAGE_CRC_BYTES + headers {
            return Err(corrupt(format!(
                "a message of {total} bytes cannot hold its prelude, {headers} bytes of headers and its checksum"
            )));
        }
        if total > MAX_MESSAGE_BYTES {
            return Err(corrupt(format!(
                "a message of {total} bytes is larger than the {} MiB limit",
                MAX_MESSAGE_BYTES / (1024 * 1024)
            )));
        }
        Ok(Some(total))
    }

    fn read(message: &[u8]) -> Result<Message, Error> {
        read_message_from(message).map_err(|e| corrupt(e.to_string()))
    }
}

fn corrupt(detail: String) -> Error {
    Error::bad_response(format!("invalid event-stream message: {detail}"))
}

/// The value of a string header, e.g. `:event-type`.
pub fn string_header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue};

    fn encode(event: &str, payload: &str) -> Vec<u8> {
        let message = Message::new(payload.as_bytes().to_vec())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("event".into()),
            ))
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String(event.to_owned().into()),
            ));
        let mut out = Vec::new();
        write_message_to(&message, &mut out).expect("encode");
        out
    }

    fn decode_in_pieces(bytes: &[u8], piece: usize) -> Result<Vec<Message>, Error> {
        let mut decoder = EventStreamDecoder::new();
        let mut out = Vec::new();
        for chunk in bytes.chunks(piece) {
            decoder.feed(chunk, &mut |m| out.push(m))?;
        }
        decoder.finish()?;
        Ok(out)
    }

    #[test]
    fn messages_split_anywhere_decode_the_same() {
        let mut body = encode("contentBlockDelta", r#"{"delta":{"text":"Hi"}}"#);
        body.extend(encode("messageStop", r#"{"stopReason":"end_turn"}"#));
        for piece in [1, 2, 5, 11, 12, 13, 40, body.len()] {
            let messages = decode_in_pieces(&body, piece).expect("decodes");
            let kinds: Vec<_> = messages
                .iter()
                .map(|m| string_header(m, ":event-type").unwrap_or("?"))
                .collect();
            assert_eq!(kinds, ["contentBlockDelta", "messageStop"], "piece {piece}");
            assert_eq!(&messages[1].payload()[..], br#"{"stopReason":"end_turn"}"#);
        }
    }

    #[test]
    fn a_cut_message_is_a_network_error() {
        let body = encode("contentBlockDelta", r#"{"delta":{"text":"Hi"}}"#);
        for cut in [1, 11, 12, body.len() - 1] {
            let e = decode_in_pieces(&body[..cut], 7).expect_err("cut");
            assert_eq!(e.kind, ErrorKind::Network, "cut at {cut}: {e}");
        }
    }

    #[test]
    fn corrupt_messages_are_bad_responses() {
        let good = encode("messageStop", "{}");
        let mut prelude = good.clone();
        prelude[3] ^= 0x40; // the length, under the prelude CRC
        let mut payload = good.clone();
        let at = payload.len() - 6;
        payload[at] ^= 1; // the payload, under the message CRC
        for (what, bytes) in [("prelude", prelude), ("payload", payload)] {
            let e = decode_in_pieces(&bytes, 3).expect_err(what);
            assert_eq!(e.kind, ErrorKind::BadResponse, "{what}: {e}");
            assert!(e.message.contains("checksum"), "{what}: {e}");
        }
    }

    #[test]
    fn a_huge_declared_length_fails_at_once() {
        let mut bytes = vec![0u8; 12];
        bytes[..4].copy_from_slice(&(64u32 * 1024 * 1024).to_be_bytes());
        let crc = crc32fast::hash(&bytes[..8]);
        bytes[8..].copy_from_slice(&crc.to_be_bytes());
        let mut decoder = EventStreamDecoder::new();
        let e = decoder.feed(&bytes, &mut |_| {}).expect_err("too large");
        assert_eq!(e.kind, ErrorKind::BadResponse);
    }
}
