//! The provider's answer as received, kept when a call asks for it
//! (`raw_response`): for the fields Switchboard does not map. Bounded, so a
//! huge answer costs at most [`RAW_ANSWER_LIMIT`] bytes more.

/// The most bytes of an answer kept.
pub const RAW_ANSWER_LIMIT: usize = 1024 * 1024;

/// Ends a raw answer cut at [`RAW_ANSWER_LIMIT`].
pub const RAW_CUT_MARKER: &str = "\n[switchboard: raw answer cut at 1 MiB]";

/// The answer's bytes so far, up to the limit.
#[derive(Debug, Default)]
pub(crate) struct RawAnswer {
    bytes: Vec<u8>,
    cut: bool,
}

impl RawAnswer {
    /// A whole body's text.
    pub fn whole(body: &[u8]) -> String {
        let mut raw = RawAnswer::default();
        raw.push(body);
        raw.finish()
    }

    /// Appends bytes as received; those past the limit are dropped.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.cut {
            return;
        }
        let room = RAW_ANSWER_LIMIT.saturating_sub(self.bytes.len());
        if bytes.len() > room {
            self.bytes.extend_from_slice(&bytes[..room]);
            self.cut = true;
        } else {
            self.bytes.extend_from_slice(bytes);
        }
    }

    /// Appends one line (an event's payload), after a newline if needed.
    pub fn push_line(&mut self, bytes: &[u8]) {
        if !self.bytes.is_empty() {
            self.push(b"\n");
        }
        self.push(bytes);
    }

    /// The text (invalid UTF-8 replaced), with the marker if it was cut.
    pub fn finish(self) -> String {
        let RawAnswer { mut bytes, mut cut } = self;
        if cut {
            drop_split_char(&mut bytes);
        }
        let mut text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        // Replacement characters are wider than the bytes they replace.
        cut |= crate::value::truncate_chars(&mut text, RAW_ANSWER_LIMIT);
        if cut {
            text.push_str(RAW_CUT_MARKER);
        }
        text
    }
}

/// Drops the start of a UTF-8 character the cut split.
fn drop_split_char(bytes: &mut Vec<u8>) {
    let len = bytes.len();
    for back in 1..=len.min(4) {
        let b = bytes[len - back];
        if b & 0xC0 != 0x80 {
            let width = match b {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            if width > back {
                bytes.truncate(len - back);
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_answer_small_is_kept_whole() {
        assert_eq!(RawAnswer::whole(b"{\"a\":1}"), "{\"a\":1}");
        assert_eq!(RawAnswer::whole(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn raw_answer_cut_at_a_char_boundary_with_the_marker() {
        // "é" is two bytes; the limit falls inside the last one.
        let mut body = vec![b'a'; RAW_ANSWER_LIMIT - 1];
        body.extend_from_slice("éz".as_bytes());
        let text = RawAnswer::whole(&body);
        assert_eq!(text.len(), RAW_ANSWER_LIMIT - 1 + RAW_CUT_MARKER.len());
        assert!(text.ends_with(&format!("a{RAW_CUT_MARKER}")));

        let exact = vec![b'a'; RAW_ANSWER_LIMIT];
        assert_eq!(RawAnswer::whole(&exact).len(), RAW_ANSWER_LIMIT);
    }

    #[test]
    fn raw_answer_pieces_and_lines() {
        let mut raw = RawAnswer::default();
        raw.push_line(b"{\"x\":1}");
        raw.push_line(b"{\"y\":2}");
        assert_eq!(raw.finish(), "{\"x\":1}\n{\"y\":2}");

        let mut raw = RawAnswer::default();
        raw.push(&vec![b'a'; RAW_ANSWER_LIMIT - 2]);
        raw.push(b"bcd");
        raw.push(b"more");
        let text = raw.finish();
        assert!(text.ends_with(&format!("abc{RAW_CUT_MARKER}")));
    }

    #[test]
    fn raw_answer_lossy_text_stays_bounded() {
        let body = vec![0xffu8; RAW_ANSWER_LIMIT];
        let text = RawAnswer::whole(&body);
        assert!(text.len() <= RAW_ANSWER_LIMIT + RAW_CUT_MARKER.len());
        assert!(text.ends_with(RAW_CUT_MARKER));
    }
}
