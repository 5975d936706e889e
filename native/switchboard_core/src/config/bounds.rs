//! The bounds a client's options must stay within. A config past one of
//! them could never make a successful call (a header no server accepts, a
//! key that cannot be sent), so it is a `:config` error when the registry
//! is built, naming the client and the option, never at the first call.
//!
//! README's "Limits" section lists these numbers; `test/config_limits_test.exs`
//! checks that it says what this file does.

use serde_json::{Map, Value};

use crate::error::Error;

/// The longest any timeout or delay may be: 24 hours. No provider keeps a
/// request open that long, and past it a typo (an extra zero, `2^63`) is
/// far likelier than intent; a call that must wait longer has no use for
/// a timeout at all, which `0` gives (see the `http` options).
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// The largest `headers:` value. Servers refuse far smaller headers than
/// HTTP allows (8 KiB per line is common: nginx, AWS load balancers), and
/// such an answer (`431`, or a reset) says nothing about which header.
pub const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;

/// The most `headers:` entries. Providers read a handful; a hundred is far
/// past any real use and well below what servers refuse.
pub const MAX_HEADERS: usize = 100;

/// The most bytes of all `headers:` names and values together: servers
/// cap a request's whole header section (64 KiB for Google front ends).
pub const MAX_HEADERS_TOTAL_BYTES: usize = 64 * 1024;

/// Options that hold a credential sent in a header (directly, or as
/// SigV4's signature inputs).
pub const CREDENTIAL_OPTIONS: &[&str] = &[
    "api_key",
    "access_key_id",
    "secret_access_key",
    "session_token",
];

/// Where a header value stops being one HTTP carries unchanged: the byte
/// offset of the first control character or non-ASCII byte. Servers read
/// non-ASCII header bytes as Latin-1 (if at all), so a UTF-8 key arrives
/// mangled, and its echo in an error would show the key.
pub fn first_bad_header_byte(value: &str) -> Option<usize> {
    value
        .bytes()
        .position(|b| !(b == b'\t' || (0x20..0x7f).contains(&b)))
}

/// Checks the credential options of a leaf client's `raw` options: only
/// visible ASCII, no spaces. The value is never shown, only where it
/// breaks.
pub fn check_credentials(ctx: &str, raw: &Map<String, Value>) -> Result<(), Error> {
    for key in CREDENTIAL_OPTIONS {
        let Some(Value::String(value)) = raw.get(*key) else {
            continue;
        };
        if let Some(at) = first_bad_credential_byte(value) {
            return Err(Error::config(format!(
                "{ctx}: option {key:?} holds a character that cannot travel in an HTTP header \
                 (a space, a control character or non-ASCII, at byte {at} of {}); \
                 the value is not shown",
                value.len()
            )));
        }
    }
    Ok(())
}

/// A credential is a token: visible ASCII only (a space or a trailing
/// newline in one is a copy-and-paste slip, not part of the key).
pub fn first_bad_credential_byte(value: &str) -> Option<usize> {
    value.bytes().position(|b| !(0x21..0x7f).contains(&b))
}

/// Checks `headers:` against [`MAX_HEADERS`], [`MAX_HEADER_VALUE_BYTES`]
/// and [`MAX_HEADERS_TOTAL_BYTES`], and each value against what HTTP
/// carries; names are checked by the HTTP library as they are parsed.
pub fn check_headers(ctx: &str, given: &[(String, String)]) -> Result<(), Error> {
    if given.len() > MAX_HEADERS {
        return Err(Error::config(format!(
            "{ctx}: option \"headers\" has {} entries; the limit is {MAX_HEADERS}",
            given.len()
        )));
    }
    let mut total = 0;
    for (name, value) in given {
        if value.len() > MAX_HEADER_VALUE_BYTES {
            return Err(Error::config(format!(
                "{ctx}: option \"headers\" entry {} is {} bytes long; the limit is {MAX_HEADER_VALUE_BYTES}",
                crate::value::shown(name),
                value.len()
            )));
        }
        if let Some(at) = first_bad_header_byte(value) {
            return Err(Error::config(format!(
                "{ctx}: option \"headers\" entry {}: its value holds a character that cannot travel \
                 in an HTTP header (a control character or non-ASCII, at byte {at}); the value is not shown",
                crate::value::shown(name)
            )));
        }
        total += name.len() + value.len();
    }
    if total > MAX_HEADERS_TOTAL_BYTES {
        return Err(Error::config(format!(
            "{ctx}: option \"headers\" holds {total} bytes of names and values; the limit is {MAX_HEADERS_TOTAL_BYTES}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn headers_within_the_limits_pass_and_each_limit_refuses_past_it() {
        let at_limit = "v".repeat(MAX_HEADER_VALUE_BYTES);
        assert!(check_headers("c", &headers(&[("x-a", &at_limit), ("x-b", "tab\tok")])).is_ok());
        let over = "v".repeat(MAX_HEADER_VALUE_BYTES + 1);
        let e = check_headers("c", &headers(&[("x-a", &over)])).unwrap_err();
        assert!(e.message.contains("the limit is 8192"), "{}", e.message);

        let many: Vec<(String, String)> = (0..=MAX_HEADERS)
            .map(|i| (format!("x-{i}"), "v".into()))
            .collect();
        let e = check_headers("c", &many).unwrap_err();
        assert!(e.message.contains("101 entries"), "{}", e.message);

        let big: Vec<(String, String)> = (0..9)
            .map(|i| (format!("x-{i}"), "v".repeat(8000)))
            .collect();
        let e = check_headers("c", &big).unwrap_err();
        assert!(e.message.contains("the limit is 65536"), "{}", e.message);
    }

    #[test]
    fn a_header_value_that_http_would_mangle_is_refused_without_being_shown() {
        for value in ["caf\u{e9}-secret", "line\r\nbreak-secret", "nul\0-secret"] {
            let e = check_headers("c", &headers(&[("x-key", value)])).unwrap_err();
            assert!(
                e.message.contains("cannot travel") && !e.message.contains("secret"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn credentials_must_be_visible_ascii_and_are_never_echoed() {
        let ok = json!({"api_key": "sk-abc_123.XYZ", "access_key_id": "AKIA0"});
        assert!(check_credentials("c", ok.as_object().unwrap()).is_ok());
        for (key, value) in [
            ("api_key", "sk-caf\u{e9}-rest-of-key"),
            ("api_key", "sk-rest-of-key\n"),
            ("secret_access_key", "with space-rest-of-key"),
            ("session_token", "tok\u{7f}rest-of-key"),
        ] {
            let raw = json!({key: value});
            let e = check_credentials("client \"A\"", raw.as_object().unwrap()).unwrap_err();
            assert!(
                e.message
                    .starts_with(&format!("client \"A\": option {key:?}")),
                "{}",
                e.message
            );
            assert!(!e.message.contains("rest-of-key"), "{}", e.message);
        }
    }
}
