//! The service-account assertion: an RS256-signed JWT, laid out byte for
//! byte as google-auth (Python) writes it, so the same key and clock give
//! the same assertion.
//!
//! The signature is `jsonwebtoken`'s RS256 on aws-lc (RSASSA-PKCS1-v1_5
//! with SHA-256, deterministic); only the JSON layout is ours: Python's
//! `json.dumps` defaults, `", "` and `": "` separators, non-ASCII escaped.

use std::fmt;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};

use crate::secret::Secret;

/// Google's OAuth token endpoint. google-auth signs it as the audience of
/// every service-account assertion, whatever the credential's `token_uri`.
pub const AUDIENCE: &str = "https://oauth2.googleapis.com/token";

/// The scope Vertex AI needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How long an assertion is valid, as google-auth makes them.
pub const LIFETIME_SECS: u64 = 3600;

/// An RSA private key for RS256. Never shown.
#[derive(Clone)]
pub struct SigningKey(EncodingKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([REDACTED])")
    }
}

impl SigningKey {
    /// A PEM private key (PKCS#8 `PRIVATE KEY`, as service-account files
    /// hold, or PKCS#1 `RSA PRIVATE KEY`). The key is tried once, so an
    /// unusable one fails here rather than at the first call. Errors never
    /// quote the key.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("the private key is not an RSA key in PEM form ({e})"))?;
        SigningKey::checked(key)
    }

    /// A PKCS#1 DER private key.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        SigningKey::checked(EncodingKey::from_rsa_der(der))
    }

    fn checked(key: EncodingKey) -> Result<Self, String> {
        let key = SigningKey(key);
        key.sign(b"switchboard key check")?;
        Ok(key)
    }

    /// The base64url (unpadded) RS256 signature of `input`.
    pub fn sign(&self, input: &[u8]) -> Result<String, String> {
        jsonwebtoken::crypto::sign(input, &self.0, Algorithm::RS256)
            .map_err(|e| format!("RS256 signing failed ({e}); RSA keys must be 2048 to 8192 bits"))
    }
}

/// A JSON value of the flat objects a JWT header and claims are.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Str(&'a str),
    Int(u64),
}

/// `{"k": v, ...}` as Python's `json.dumps` writes it by default.
pub fn python_json(fields: &[(&str, Field<'_>)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_python_string(&mut out, key);
        out.push_str(": ");
        match value {
            Field::Str(s) => push_python_string(&mut out, s),
            Field::Int(n) => out.push_str(&n.to_string()),
        }
    }
    out.push('}');
    out
}

/// A JSON string with `ensure_ascii`: anything outside printable ASCII as
/// `\uXXXX` (UTF-16 units), the usual short escapes otherwise.
fn push_python_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims.signature`, each part base64url without padding.
pub fn signed(key: &SigningKey, header: &str, claims: &str) -> Result<String, String> {
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    let signature = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{signature}"))
}

/// The assertion a service account trades for an access token: issued by
/// its `client_email` at `now` (Unix seconds), valid one hour, for the
/// cloud-platform scope, with its `private_key_id` as `kid`.
pub fn service_account_assertion(
    key: &SigningKey,
    key_id: Option<&str>,
    client_email: &str,
    now: u64,
) -> Result<Secret, String> {
    let mut header = vec![("typ", Field::Str("JWT")), ("alg", Field::Str("RS256"))];
    if let Some(kid) = key_id {
        header.push(("kid", Field::Str(kid)));
    }
    let claims = [
        ("iat", Field::Int(now)),
        ("exp", Field::Int(now + LIFETIME_SECS)),
        ("iss", Field::Str(client_email)),
        ("aud", Field::Str(AUDIENCE)),
        ("scope", Field::Str(CLOUD_PLATFORM_SCOPE)),
    ];
    signed(key, &python_json(&header), &python_json(&claims)).map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_layout_and_escapes() {
        let json = python_json(&[
            ("a", Field::Str("x\"y\\z\n\u{7f}é😀")),
            ("b", Field::Int(7)),
        ]);
        assert_eq!(
            json,
            r#"{"a": "x\"y\\z\n\u007f\u00e9\ud83d\ude00", "b": 7}"#
        );
    }

    #[test]
    fn bad_keys_fail_without_quoting_them() {
        let e = SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(!e.contains("c2VjcmV0"), "{e}");
        assert!(SigningKey::from_der(b"not a key").is_err());
    }
}
