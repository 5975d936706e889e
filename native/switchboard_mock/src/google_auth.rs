//! Google credentials the mock checks: service-account keys registered by
//! tests, and the verdict on each token-endpoint or metadata-server request.
//!
//! A service-account assertion is verified the way Google's token endpoint
//! does: RS256 signature against the key registered for its `iss`, audience
//! `https://oauth2.googleapis.com/token` (what google-auth signs, whatever
//! the `token_uri`), a short-lived `iat`/`exp` window and the cloud-platform
//! scope. Rendering the answers is `google_token`'s job.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Once, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// The audience every service-account assertion must name.
pub const AUDIENCE: &str = "https://oauth2.googleapis.com/token";
/// The scope Vertex AI needs.
pub const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions valid for at most an hour.
const MAX_LIFETIME_S: i64 = 3600;
/// Clock skew tolerated on `iat` and `exp`.
const LEEWAY_S: i64 = 300;

const SHORT_LIVED: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

/// Public keys of service accounts, by `client_email`. Server-wide: a
/// service account is identified by its email whichever scenario its token
/// endpoint lives in.
#[derive(Default)]
pub struct GoogleKeys {
    by_email: RwLock<HashMap<String, DecodingKey>>,
}

impl fmt::Debug for GoogleKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let map = self.by_email.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_set().entries(map.keys()).finish()
    }
}

impl Clone for GoogleKeys {
    fn clone(&self) -> Self {
        let map = self.by_email.read().unwrap_or_else(PoisonError::into_inner);
        GoogleKeys {
            by_email: RwLock::new(map.clone()),
        }
    }
}

impl GoogleKeys {
    /// Registers (or replaces) a service account's key. `value` is either
    /// a service-account JSON object (`client_email` and `private_key`: the
    /// public half is derived), an object with `client_email` and
    /// `public_key` (PEM: `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`),
    /// or either of those as a JSON text. Returns the email.
    pub fn add(&self, value: &Value) -> Result<String, String> {
        let parsed;
        let value = match value {
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text)
                    .map_err(|e| format!("not a service-account JSON text: {e}"))?;
                &parsed
            }
            v => v,
        };
        let map = value
            .as_object()
            .ok_or("expected a service-account object or its JSON text")?;
        let field = |name: &str| map.get(name).and_then(Value::as_str);
        let email = field("client_email").ok_or("missing \"client_email\"")?;
        let key = match (field("public_key"), field("private_key")) {
            (Some(pem), _) => DecodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|e| format!("public_key: not an RSA public key PEM: {e}"))?,
            (None, Some(pem)) => public_half(pem)?,
            (None, None) => return Err("needs \"private_key\" or \"public_key\"".to_owned()),
        };
        self.by_email
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(email.to_owned(), key);
        Ok(email.to_owned())
    }

    fn get(&self, email: &str) -> Option<DecodingKey> {
        self.by_email
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(email)
            .cloned()
    }
}

/// Selects jsonwebtoken's aws-lc backend explicitly: it only picks one by
/// itself when exactly one backend feature is on, which a workspace build
/// could change under us.
fn use_aws_lc() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed, which is as good.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}

/// The verifying key of an RSA private key PEM (PKCS#1 or PKCS#8). The
/// private key itself is not kept.
fn public_half(pem: &str) -> Result<DecodingKey, String> {
    use_aws_lc();
    let private = EncodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| format!("private_key: not an RSA private key PEM: {e}"))?;
    let jwk = Jwk::from_encoding_key(&private, Algorithm::RS256)
        .map_err(|e| format!("private_key: {e}"))?;
    DecodingKey::from_jwk(&jwk).map_err(|e| format!("private_key: {e}"))
}

/// What an auth endpoint answers when it accepts the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An access token; `scope` is echoed for refresh-token grants.
    Token {
        scope: Option<String>,
    },
    /// A plain-text metadata value.
    Email,
    ProjectId,
    NumericProjectId,
}

/// Why it refuses: an OAuth error (`error`, `error_description`) or a
/// metadata-server refusal (`description` only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl Rejection {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Rejection {
        Rejection {
            status,
            error,
            description: description.into(),
        }
    }

    fn grant(description: impl Into<String>) -> Rejection {
        Rejection::new(400, "invalid_grant", description)
    }
}

pub type Verdict = Result<Answer, Rejection>;

/// A request to an auth endpoint: its verdict and its number among the
/// scenario's auth requests (1-based), which names the token handed out.
#[derive(Debug)]
pub struct AuthRequest {
    pub verdict: Verdict,
    pub serial: u64,
}

/// `POST …/token`, form-encoded (or JSON) as OAuth clients send it.
pub fn check_token_request(keys: &GoogleKeys, body: &[u8]) -> Verdict {
    let params = form(body);
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let missing = |name: &str| {
        Rejection::new(
            400,
            "invalid_request",
            format!("Missing required parameter: {name}"),
        )
    };
    match param("grant_type") {
        Some(JWT_BEARER) => {
            let assertion = param("assertion").ok_or_else(|| missing("assertion"))?;
            verify_assertion(keys, assertion, unix_now())?;
            Ok(Answer::Token { scope: None })
        }
        Some("refresh_token") => {
            for name in ["client_id", "client_secret", "refresh_token"] {
                param(name).ok_or_else(|| missing(name))?;
            }
            let scope = param("scope").unwrap_or(CLOUD_PLATFORM).to_owned();
            Ok(Answer::Token { scope: Some(scope) })
        }
        Some(other) => Err(Rejection::new(
            400,
            "unsupported_grant_type",
            format!("Invalid grant_type: {other}"),
        )),
        None => Err(missing("grant_type")),
    }
}

/// `GET /computeMetadata/v1/…`: only with `Metadata-Flavor: Google`.
pub fn check_metadata_request(path: &str, headers: &HeaderMap) -> Verdict {
    let flavored = headers
        .get_all("metadata-flavor")
        .iter()
        .any(|v| v.as_bytes() == b"Google");
    if !flavored {
        return Err(Rejection::new(
            403,
            "forbidden",
            "Missing Metadata-Flavor:Google header.",
        ));
    }
    let item = path
        .strip_prefix(crate::google_token::METADATA_PREFIX)
        .unwrap_or_default()
        .trim_end_matches('/');
    match item {
        "/instance/service-accounts/default/token" => Ok(Answer::Token { scope: None }),
        "/instance/service-accounts/default/email" => Ok(Answer::Email),
        "/project/project-id" => Ok(Answer::ProjectId),
        "/project/numeric-project-id" => Ok(Answer::NumericProjectId),
        _ => Err(Rejection::new(404, "not_found", "Not Found")),
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
    exp: i64,
}

#[derive(Deserialize)]
struct Issuer {
    iss: String,
}

/// Checks a service-account assertion at time `now` (Unix seconds).
pub fn verify_assertion(keys: &GoogleKeys, assertion: &str, now: u64) -> Result<(), Rejection> {
    use_aws_lc();
    // Which key to check with: the issuer, read before the signature is.
    let iss = unverified_issuer(assertion)
        .ok_or_else(|| Rejection::grant("Invalid JWT: the assertion is not a JWT."))?;
    let key = keys
        .get(&iss)
        .ok_or_else(|| Rejection::grant("Invalid grant: account not found"))?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    // The window is checked below, against our `now`.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|e| {
            Rejection::grant(match e.kind() {
                ErrorKind::InvalidAudience => {
                    format!("Invalid JWT: Failed audience check. The right audience is {AUDIENCE}")
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    format!("Invalid JWT: the \"{claim}\" claim is missing.")
                }
                // A wrong algorithm, a bad signature or a mangled token.
                _ => "Invalid JWT Signature.".to_owned(),
            })
        })?
        .claims;

    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let iat = claims.iat.ok_or_else(|| Rejection::grant(SHORT_LIVED))?;
    let exp = claims.exp;
    let sane =
        iat <= now + LEEWAY_S && exp >= now - LEEWAY_S && exp > iat && exp - iat <= MAX_LIFETIME_S;
    if !sane {
        return Err(Rejection::grant(SHORT_LIVED));
    }
    let scoped = claims
        .scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|s| s == CLOUD_PLATFORM));
    if !scoped {
        return Err(Rejection::new(
            400,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    Ok(())
}

fn unverified_issuer(assertion: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Issuer>(&bytes).ok().map(|i| i.iss)
}

/// Form parameters; a JSON object of strings is accepted too.
fn form(body: &[u8]) -> HashMap<String, String> {
    if body.first() == Some(&b'{') {
        if let Ok(Value::Object(map)) = serde_json::from_slice(body) {
            return map
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
                .collect();
        }
    }
    form_urlencoded::parse(body).into_owned().collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;
    use serde_json::json;

    #[test]
    fn grants_and_missing_parameters() {
        let keys = GoogleKeys::default();
        assert_eq!(
            check_token_request(
                &keys,
                b"grant_type=refresh_token&client_id=1&client_secret=s&refresh_token=r"
            ),
            Ok(Answer::Token {
                scope: Some(CLOUD_PLATFORM.to_owned())
            })
        );
        let e = check_token_request(
            &keys,
            b"grant_type=refresh_token&client_id=1&refresh_token=r",
        )
        .expect_err("no secret");
        assert_eq!((e.status, e.error), (400, "invalid_request"));
        assert!(e.description.ends_with("client_secret"));
        let e = check_token_request(&keys, b"grant_type=password").expect_err("unsupported");
        assert_eq!(e.error, "unsupported_grant_type");
        let e = check_token_request(
            &keys,
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        )
        .expect_err("no assertion");
        assert_eq!(e.description, "Missing required parameter: assertion");
        let e = check_token_request(
            &keys,
            br#"{"grant_type":"urn:ietf:params:oauth:grant-type:jwt-bearer","assertion":"a.b.c"}"#,
        )
        .expect_err("not a JWT");
        assert_eq!(e.error, "invalid_grant");
    }

    #[test]
    fn metadata_needs_the_flavor_header() {
        let path = "/computeMetadata/v1/instance/service-accounts/default/token";
        let e = check_metadata_request(path, &HeaderMap::new()).expect_err("no header");
        assert_eq!(e.status, 403);
        let mut h = HeaderMap::new();
        h.insert("metadata-flavor", HeaderValue::from_static("Google"));
        assert_eq!(
            check_metadata_request(path, &h),
            Ok(Answer::Token { scope: None })
        );
        assert_eq!(
            check_metadata_request("/computeMetadata/v1/project/project-id", &h),
            Ok(Answer::ProjectId)
        );
        assert_eq!(
            check_metadata_request("/computeMetadata/v1/instance/zone", &h)
                .expect_err("unknown")
                .status,
            404
        );
    }

    /// google-auth's test service account and the assertion it signed at
    /// 1700000000 (the corpus in ../shared/conformance), checked at that time.
    #[test]
    fn conformance_derived_assertion_verifies_at_its_time() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/conformance/google-auth"
        );
        let Ok(sa) = std::fs::read_to_string(format!(
            "{root}/google-auth-library-python-tests-data/service_account.json"
        )) else {
            eprintln!("skipped: {root} is absent");
            return;
        };
        let derived: Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{root}/DERIVED_google-auth_service_account_assertion.json"
            ))
            .expect("derived vector"),
        )
        .expect("json");
        let assertion = derived["assertion"].as_str().expect("assertion");
        let keys = GoogleKeys::default();
        keys.add(&Value::String(sa)).expect("service account");
        assert_eq!(verify_assertion(&keys, assertion, 1_700_000_000), Ok(()));
        assert_eq!(verify_assertion(&keys, assertion, 1_700_003_000), Ok(()));
        let late = verify_assertion(&keys, assertion, 1_700_004_000).expect_err("expired");
        assert_eq!(late.description, SHORT_LIVED);
    }

    #[test]
    fn registration_errors() {
        let keys = GoogleKeys::default();
        assert!(keys.add(&json!({"private_key": "x"})).is_err());
        assert!(keys.add(&json!({"client_email": "a@b"})).is_err());
        assert!(keys
            .add(&json!({"client_email": "a@b", "private_key": "not a pem"}))
            .is_err());
        assert!(keys.add(&json!("not json")).is_err());
        assert!(keys.add(&json!([1])).is_err());
    }
}
