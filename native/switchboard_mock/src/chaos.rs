//! Faults for fault-injection runs that no provider answer has on its own:
//! one corrupted byte (`corrupt_at`) and a body that never ends
//! (`endless`).
//!
//! A flipped byte is what a bad proxy or a broken NIC leaves behind: in an
//! AWS event stream it must fail the frame's CRC, in JSON it must fail the
//! parse. An endless body is a server that keeps talking and never says
//! anything: a client must end it by its size limit or its timeouts, not
//! read forever.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::header::{HeaderMap, CONTENT_TYPE};

use crate::body::{Gap, Piece};

/// Size of one endless piece.
const FILLER_BYTES: usize = 64 * 1024;

/// An event stream sends its keep-alives slowly, as a live server would, so
/// that the client's idle timeout never fires and only its request (or
/// first-token) timeout can end it; a JSON body runs at full speed into the
/// client's size limit.
const STREAM_FILLER_GAP: Duration = Duration::from_millis(5);

/// Flips every bit of the byte at `at` (counted over the whole body); a body
/// shorter than that is left alone.
pub fn corrupt(pieces: &mut [Piece], at: usize) {
    let mut offset = at;
    for piece in pieces.iter_mut() {
        if offset < piece.data.len() {
            let mut data = BytesMut::from(&piece.data[..]);
            data[offset] ^= 0xFF;
            piece.data = data.freeze();
            return;
        }
        offset -= piece.data.len();
    }
}

/// The piece an endless body repeats, for the answer's content type: SSE
/// comment lines for `text/event-stream` (no event, so no text), blanks
/// for anything else (JSON that never starts).
pub fn filler(headers: &HeaderMap) -> Piece {
    let event_stream = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if event_stream {
        let line = b": switchboard_mock chaos keep-alive\n\n";
        let data: Vec<u8> = line.iter().copied().cycle().take(line.len() * 8).collect();
        Piece {
            gap: Gap::Sleep(STREAM_FILLER_GAP),
            data: Bytes::from(data),
        }
    } else {
        Piece {
            gap: Gap::Yield,
            data: Bytes::from(vec![b' '; FILLER_BYTES]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn piece(s: &'static str) -> Piece {
        Piece {
            gap: Gap::Immediate,
            data: Bytes::from_static(s.as_bytes()),
        }
    }

    #[test]
    fn corrupts_the_byte_across_pieces() {
        let mut pieces = vec![piece("ab"), piece("cd")];
        corrupt(&mut pieces, 2);
        assert_eq!(&pieces[0].data[..], b"ab");
        assert_eq!(pieces[1].data[0], b'c' ^ 0xFF);
        assert_eq!(pieces[1].data[1], b'd');
        // Past the end: nothing changes.
        corrupt(&mut pieces, 10);
        assert_eq!(&pieces[0].data[..], b"ab");
    }

    #[test]
    fn filler_follows_the_content_type() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        assert!(filler(&headers).data.starts_with(b": "));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let blank = filler(&headers);
        assert!(blank.data.iter().all(|b| *b == b' '));
        assert_eq!(blank.data.len(), FILLER_BYTES);
    }
}
