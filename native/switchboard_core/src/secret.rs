//! Credentials, and keeping them out of everything a user can see.
//!
//! A [`Secret`] never shows its value through `Debug` or `Display`. Every
//! request carries the [`Secrets`] it was built and authorized with, and the
//! engine passes each error message and `raw_response` through
//! [`Secrets::redact`] before it leaves the attempt. Servers and proxies echo
//! credentials back in other spellings than the one sent, so redaction also
//! matches a secret whose characters are JSON-escaped (`\u002d`, `\/`,
//! `\"`) or URL-encoded (`%2D`, `+` for a space), in any mix, and the
//! secret's base64 (standard and URL-safe alphabets, padded or not), which
//! is how a proxy or a server quoting a header or a token blob shows it.

use std::fmt;
use std::sync::Arc;

/// Shorter values are not redacted: replacing every `ab` in a message would
/// destroy it and protect nothing.
const MIN_REDACTED_CHARS: usize = 4;

const REDACTED: &str = "[REDACTED]";

/// A credential: an API key, a token, a password, a private key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Every secret a request carries, in every form it was sent in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(Vec<Secret>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.0.len())
    }
}

impl Secrets {
    /// Adds a secret and its base64 spellings.
    pub fn push(&mut self, secret: Secret) {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        if secret.0.chars().count() < MIN_REDACTED_CHARS {
            return;
        }
        // Without padding, so that the encoding matches whether or not the
        // echo pads it (the `=` left behind shows nothing).
        let bytes = secret.expose().as_bytes();
        let mut spellings = vec![STANDARD_NO_PAD.encode(bytes), URL_SAFE_NO_PAD.encode(bytes)];
        // Inside a longer encoded blob (`{"key":"sk-..."}`, `prefix:secret`)
        // the secret starts at any of three offsets from a 3-byte group, and
        // its last group depends on the bytes after it: the characters that
        // only the secret's bytes decide, for each offset.
        for offset in 0..3 {
            let shifted: Vec<u8> = std::iter::repeat_n(0, offset)
                .chain(bytes.iter().copied())
                .collect();
            let (skip, whole) = (if offset == 0 { 0 } else { 4 }, shifted.len() / 3 * 4);
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                if let Some(inner) = engine.encode(&shifted).get(skip..whole) {
                    spellings.push(inner.to_owned());
                }
            }
        }
        self.push_spelling(secret);
        for spelling in spellings {
            self.push_spelling(Secret::new(spelling));
        }
    }

    /// Kept longest first, so that a secret that contains another (the
    /// base64 of `user:pass` holds the password's) is redacted whole.
    fn push_spelling(&mut self, secret: Secret) {
        if secret.0.chars().count() >= MIN_REDACTED_CHARS && !self.0.contains(&secret) {
            let at = self.0.partition_point(|s| s.0.len() >= secret.0.len());
            self.0.insert(at, secret);
        }
    }

    /// The value of a credential header: the whole value and, for
    /// `Bearer xyz`-style values, the token alone, which is what a server
    /// is likely to quote.
    pub fn push_header_value(&mut self, value: &Secret) {
        self.push(value.clone());
        if let Some((_, token)) = value.expose().split_once(' ') {
            self.push(Secret::new(token.trim()));
        }
    }

    /// Credentials given as URL userinfo (`https://user:pass@host`, as the
    /// URL spells them, percent-encoded): the password and the user (a
    /// token given alone as the user is a credential too), decoded as the
    /// HTTP client sends them, and `user:pass` in the base64 of the Basic
    /// header it builds from them.
    pub fn push_userinfo(&mut self, user: &str, password: &str) {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let (user_decoded, password_decoded) = (decode(user), decode(password));
        for value in [password, password_decoded.as_str()] {
            self.push(Secret::new(value));
        }
        if password.is_empty() {
            for value in [user, user_decoded.as_str()] {
                self.push(Secret::new(value));
            }
        }
        let pair = format!("{user_decoded}:{password_decoded}");
        // `user:pass` goes in with its base64, the Basic header's value.
        self.push(Secret::new(pair));
    }

    pub fn extend(&mut self, other: &Secrets) {
        for s in &other.0 {
            self.push_spelling(s.clone());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every occurrence of every secret replaced by `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            out = redact_one(&out, secret.expose());
        }
        out
    }
}

/// Replaces each match of `secret` in `text`, in any of the spellings
/// [`encodings`] knows, scanning left to right. Text is often cut to a
/// length before it gets here (an error body's prefix, a message's first
/// 2,000 characters), so a secret's first characters at the very end of
/// the text are replaced too.
fn redact_one(text: &str, secret: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match match_at(bytes, i, secret) {
            Some(end) => {
                out.push_str(&text[copied..i]);
                out.push_str(REDACTED);
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    if copied == 0 {
        return text.to_owned();
    }
    out.push_str(&text[copied..]);
    out
}

/// The end of the longest match of `secret` starting at `start`, or of a
/// match of its first [`MIN_REDACTED_CHARS`] or more characters that runs
/// to the end of `text`. Each character may be spelled several ways, so
/// this follows every spelling at once (a small set of positions per
/// character).
fn match_at(text: &[u8], start: usize, secret: &str) -> Option<usize> {
    let mut positions = vec![start];
    let mut next = Vec::new();
    for (matched, c) in secret.chars().enumerate() {
        if matched >= MIN_REDACTED_CHARS && positions.contains(&text.len()) {
            return Some(text.len());
        }
        next.clear();
        for &at in &positions {
            for len in encodings(&text[at..], c) {
                if !next.contains(&(at + len)) {
                    next.push(at + len);
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        std::mem::swap(&mut positions, &mut next);
    }
    // Matches end on a character boundary: each spelling is whole ASCII or
    // the character's own UTF-8 bytes.
    positions.into_iter().max()
}

/// The lengths of the spellings of `c` that `rest` starts with.
fn encodings(rest: &[u8], c: char) -> impl Iterator<Item = usize> {
    let mut utf8 = [0u8; 4];
    let raw = c.encode_utf8(&mut utf8).as_bytes();
    let mut found = [0usize; 4];
    let mut n = 0;
    let mut add = |len: usize| {
        found[n] = len;
        n += 1;
    };
    if rest.starts_with(raw) {
        add(raw.len());
    }
    // JSON: \uXXXX of the character (BMP), or a backslash before / " \.
    if rest.len() >= 6 && rest[0] == b'\\' && rest[1] == b'u' {
        let code = std::str::from_utf8(&rest[2..6])
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        if code == Some(c as u32) {
            add(6);
        }
    }
    if matches!(c, '/' | '"' | '\\') && rest.len() >= 2 && rest[0] == b'\\' && rest[1] == c as u8 {
        add(2);
    }
    // URL: %XX per UTF-8 byte, in either case; + for a space.
    if rest.len() >= 3 * raw.len()
        && raw.iter().enumerate().all(|(k, b)| {
            let at = &rest[3 * k..3 * k + 3];
            at[0] == b'%'
                && std::str::from_utf8(&at[1..])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    == Some(*b)
        })
    {
        add(3 * raw.len());
    }
    if c == ' ' && rest.first() == Some(&b'+') {
        add(1);
    }
    found.into_iter().take(n)
}

/// Whether a header's value is a credential by its name: `authorization`,
/// `x-api-key`, `api-key`, `*-key`, `*-token`, `*-secret`, cookies.
/// (Values shorter than [`MIN_REDACTED_CHARS`] are never redacted, so a
/// header such as `x-auth-mode: none` cannot blank out ordinary words.)
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("auth")
        || name.ends_with("key")
        || name.ends_with("token")
        || name.ends_with("secret")
        || name.contains("password")
        || name.contains("cookie")
        || name.contains("signature")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Secrets {
        let mut s = Secrets::default();
        for v in values {
            s.push(Secret::new(*v));
        }
        s
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("sk-live-123456");
        assert_eq!(format!("{s:?} {s}"), "[REDACTED] [REDACTED]");
        assert!(!format!("{:?}", secrets(&["sk-live-123456"])).contains("sk-live"));
    }

    #[test]
    fn redacts_plain_json_escaped_and_url_encoded_spellings() {
        let s = secrets(&["sk-a/b\"c d"]);
        for echoed in [
            "sk-a/b\"c d",
            "sk\\u002da\\/b\\\"c d",
            "sk\\u002Da\\u002fb\\u0022c\\u0020d",
            "sk%2Da%2fb%22c+d",
            "sk-a%2Fb%22c%20d",
        ] {
            let text = format!("key {echoed} was wrong");
            assert_eq!(s.redact(&text), "key [REDACTED] was wrong", "{echoed}");
        }
    }

    #[test]
    fn redacts_the_token_of_a_header_value_and_basic_userinfo() {
        let mut s = Secrets::default();
        s.push_header_value(&Secret::new("Bearer tok-123456"));
        assert_eq!(s.redact("got tok-123456"), "got [REDACTED]");
        s.push_userinfo("alice", "hunter22");
        // base64("alice:hunter22")
        assert_eq!(s.redact("Basic YWxpY2U6aHVudGVyMjI="), "Basic [REDACTED]=");
        assert_eq!(s.redact("pw hunter22"), "pw [REDACTED]");
    }

    #[test]
    fn userinfo_is_redacted_as_sent_decoded_and_alone() {
        let mut s = Secrets::default();
        s.push_userinfo("bob", "p%40ss%3Aw%2Frd");
        assert_eq!(s.redact("pw p@ss:w/rd"), "pw [REDACTED]");
        // base64("bob:p@ss:w/rd")
        assert!(!s
            .redact("Ym9iOnBAc3M6dy9yZA==")
            .contains("Ym9iOnBAc3M6dy9yZA"));
        let mut token_only = Secrets::default();
        token_only.push_userinfo("tok%2Dabcdef", "");
        assert_eq!(token_only.redact("t tok-abcdef"), "t [REDACTED]");
    }

    #[test]
    fn redacts_the_base64_of_a_secret_inside_a_longer_encoded_blob() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        let key = "sk-live-0123456789abcdefXYZ";
        let mut secrets = Secrets::default();
        secrets.push(Secret::new(key));
        for prefix in ["", "k", "ke", "key:"] {
            for suffix in ["", "!", "!!", "\"}"] {
                let blob = format!("{prefix}{key}{suffix}");
                for encoded in [STANDARD.encode(&blob), URL_SAFE_NO_PAD.encode(&blob)] {
                    let shown = secrets.redact(&format!("echo: {encoded}"));
                    // At most two bytes of the key, at each edge, stay encoded.
                    let left: String = shown.split("[REDACTED]").collect();
                    assert!(shown.contains("[REDACTED]"), "{prefix}|{suffix}: {shown}");
                    assert!(
                        left.len() <= "echo: ".len() + 16,
                        "{prefix}|{suffix}: {shown}"
                    );
                }
            }
        }
    }

    #[test]
    fn redacts_the_base64_of_a_secret_in_both_alphabets_padded_or_not() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        let key = "sk-chaos/openai+key=1?>";
        let s = secrets(&[key]);
        for echoed in [STANDARD.encode(key), URL_SAFE_NO_PAD.encode(key)] {
            let shown = s.redact(&format!("bad key {echoed} here"));
            assert!(!shown.contains(echoed.trim_end_matches('=')), "{shown}");
            assert!(shown.starts_with("bad key [REDACTED]"), "{shown}");
        }
    }

    #[test]
    fn a_secret_cut_off_at_the_end_of_the_text_is_redacted() {
        let s = secrets(&["sk-live-A1b2C3d4"]);
        assert_eq!(s.redact("key: sk-live-A1"), "key: [REDACTED]");
        assert_eq!(s.redact("key: sk-"), "key: sk-");
    }

    #[test]
    fn leaves_other_text_and_tiny_values_alone() {
        let s = secrets(&["abc", "longer-key"]);
        assert_eq!(s.redact("abc longer-ke ünï"), "abc longer-ke ünï");
        assert_eq!(s.redact("ünï longer-key"), "ünï [REDACTED]");
    }

    #[test]
    fn credential_headers_are_recognised_by_name() {
        for name in [
            "Authorization",
            "x-api-key",
            "api-key",
            "X-Goog-Api-Key",
            "x-amz-security-token",
            "X-Secret",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in ["content-type", "anthropic-version", "x-request-id"] {
            assert!(!is_credential_header(name), "{name}");
        }
    }
}
