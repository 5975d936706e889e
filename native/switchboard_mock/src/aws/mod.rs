//! AWS authentication: SigV4 and Bedrock API key verification, and the
//! credential endpoints of the AWS credential chain (STS web identity, ECS /
//! EKS container credentials, EC2 IMDSv2).
//!
//! A scenario verifies Bedrock requests once a test gave it an AWS
//! configuration (`PUT /_mock/scenarios/<id>/aws`); without one, requests are
//! answered and recorded unchecked. Credentials handed out by any scenario's
//! credential endpoints are known server-wide, so the chain may be pointed at
//! one scenario and the Bedrock client at another.

pub mod credentials;
pub mod sigv4;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// Lifetime of handed-out credentials unless configured.
const DEFAULT_EXPIRES_IN_S: i64 = 3600;
pub const DEFAULT_ROLE_NAME: &str = "switchboard-mock-role";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";

/// A UUID-shaped request id, as `x-amzn-requestid` carries on every AWS
/// answer (Bedrock's and the credential endpoints').
pub fn request_id(n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 32) as u32 ^ 0x5b0c_4d1e,
        (n >> 16) & 0xffff,
        n & 0xfff,
        (n >> 12) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// One set of AWS credentials the mock accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// After this, requests signed with it get `ExpiredTokenException`.
    pub expires_at: Option<SystemTime>,
}

/// A scenario's AWS settings, from `PUT /_mock/scenarios/<id>/aws`.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// Check `Authorization` on Bedrock requests (default: true once configured).
    pub verify: bool,
    /// Static credentials (e.g. what a test puts in env vars or a profile).
    pub credentials: Vec<Credential>,
    /// Bedrock API keys accepted as `Authorization: Bearer <key>`.
    pub api_keys: Vec<String>,
    /// When set, the credential scope must name this region; also what IMDS
    /// reports as the instance's region.
    pub region: Option<String>,
    /// Lifetime of credentials the credential endpoints hand out (may be
    /// zero or negative: already expired).
    pub expires_in_s: i64,
    /// Wait before answering a credential endpoint.
    pub credential_delay: Option<Duration>,
    /// Fail this many credential fetches (STS, container, IMDS credentials)
    /// with `credential_status` before answering normally.
    pub credential_failures: u64,
    pub credential_status: u16,
    /// When set, a failing fetch answers this body (with
    /// `credential_status`, which may be 200: an answer that is garbage)
    /// instead of the endpoint's own error.
    pub credential_body: Option<String>,
    /// IMDS role name.
    pub role_name: String,
    /// When set, STS rejects any other `WebIdentityToken`.
    pub web_identity_token: Option<String>,
    /// When set, the container endpoint rejects any other `Authorization`.
    pub container_authorization: Option<String>,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            verify: false,
            credentials: Vec::new(),
            api_keys: Vec::new(),
            region: None,
            expires_in_s: DEFAULT_EXPIRES_IN_S,
            credential_delay: None,
            credential_failures: 0,
            credential_status: 500,
            credential_body: None,
            role_name: DEFAULT_ROLE_NAME.to_owned(),
            web_identity_token: None,
            container_authorization: None,
        }
    }
}

impl AwsConfig {
    /// Strict like step parsing: an unknown key is an error; `nil` leaves a
    /// setting at its default.
    pub fn parse(value: &Value) -> Result<AwsConfig, String> {
        let map = value
            .as_object()
            .ok_or("the AWS configuration must be a map")?;
        let mut cfg = AwsConfig {
            verify: true,
            ..AwsConfig::default()
        };
        for (key, v) in map {
            let f = |e: String| format!("{key}: {e}");
            if v.is_null() && AwsConfig::KEYS.contains(&key.as_str()) {
                continue;
            }
            match key.as_str() {
                "verify" => cfg.verify = v.as_bool().ok_or("verify: expected a boolean")?,
                "credentials" => cfg.credentials = credentials(v).map_err(f)?,
                "api_keys" => cfg.api_keys = strings(v).map_err(f)?,
                "region" => cfg.region = opt_string(v).map_err(f)?,
                "expires_in_s" => {
                    cfg.expires_in_s = v.as_i64().ok_or("expires_in_s: expected an integer")?
                }
                "credential_delay_ms" => {
                    cfg.credential_delay = Some(Duration::from_millis(uint(v).map_err(f)?))
                }
                "credential_failures" => cfg.credential_failures = uint(v).map_err(f)?,
                "credential_status" => {
                    cfg.credential_status = u16::try_from(uint(v).map_err(f)?)
                        .ok()
                        .filter(|s| (100..=999).contains(s))
                        .ok_or("credential_status: not an HTTP status")?
                }
                "credential_body" => cfg.credential_body = opt_string(v).map_err(f)?,
                "role_name" => {
                    cfg.role_name = opt_string(v)
                        .map_err(f)?
                        .unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned())
                }
                "web_identity_token" => cfg.web_identity_token = opt_string(v).map_err(f)?,
                "container_authorization" => {
                    cfg.container_authorization = opt_string(v).map_err(f)?
                }
                other => return Err(format!("unknown AWS key {other:?}")),
            }
        }
        Ok(cfg)
    }

    const KEYS: [&'static str; 12] = [
        "verify",
        "credentials",
        "api_keys",
        "region",
        "expires_in_s",
        "credential_delay_ms",
        "credential_failures",
        "credential_status",
        "credential_body",
        "role_name",
        "web_identity_token",
        "container_authorization",
    ];

    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }
}

fn uint(v: &Value) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| "expected a non-negative integer".to_owned())
}

fn opt_string(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err("expected a string".into()),
    }
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "expected a list of strings".to_owned())
            })
            .collect(),
        _ => Err("expected a list of strings".into()),
    }
}

fn credentials(v: &Value) -> Result<Vec<Credential>, String> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(_) => std::slice::from_ref(v),
        Value::Array(items) => items.as_slice(),
        _ => return Err("expected a list of credential maps".into()),
    };
    items
        .iter()
        .map(|item| {
            let map = item.as_object().ok_or("expected a credential map")?;
            let field = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_owned);
            for key in map.keys() {
                if !matches!(
                    key.as_str(),
                    "access_key_id" | "secret_access_key" | "session_token"
                ) {
                    return Err(format!("unknown credential key {key:?}"));
                }
            }
            Ok(Credential {
                access_key_id: field("access_key_id").ok_or("access_key_id is required")?,
                secret_access_key: field("secret_access_key")
                    .ok_or("secret_access_key is required")?,
                session_token: field("session_token"),
                expires_at: None,
            })
        })
        .collect()
}

/// Which credential endpoint a fetch hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Sts,
    Container,
    ImdsToken,
    ImdsRole,
    ImdsCredentials,
    ImdsRegion,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sts => "sts",
            Source::Container => "container",
            Source::ImdsToken => "imds_token",
            Source::ImdsRole => "imds_role",
            Source::ImdsCredentials => "imds_credentials",
            Source::ImdsRegion => "imds_region",
        }
    }

    const ALL: [Source; 6] = [
        Source::Sts,
        Source::Container,
        Source::ImdsToken,
        Source::ImdsRole,
        Source::ImdsCredentials,
        Source::ImdsRegion,
    ];

    /// The fetches that hand out credentials.
    pub fn issues_credentials(self) -> bool {
        matches!(
            self,
            Source::Sts | Source::Container | Source::ImdsCredentials
        )
    }
}

/// Credentials handed out, with where they came from.
#[derive(Debug, Clone)]
pub struct Issued {
    pub source: Source,
    pub credential: Credential,
}

#[derive(Debug, Default)]
struct ScenarioAwsInner {
    config: Option<Arc<AwsConfig>>,
    fetches: HashMap<Source, u64>,
    issued: Vec<Issued>,
    imds_tokens: HashMap<String, Instant>,
    verified: u64,
    rejected: u64,
}

/// A scenario's AWS configuration and what its credential endpoints did.
#[derive(Debug, Default)]
pub struct ScenarioAws {
    inner: Mutex<ScenarioAwsInner>,
}

impl ScenarioAws {
    fn lock(&self) -> MutexGuard<'_, ScenarioAwsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the configuration and clears counters, issued credentials
    /// and IMDS tokens.
    pub fn configure(&self, config: AwsConfig) {
        *self.lock() = ScenarioAwsInner {
            config: Some(Arc::new(config)),
            ..ScenarioAwsInner::default()
        };
    }

    pub fn config(&self) -> Option<Arc<AwsConfig>> {
        self.lock().config.clone()
    }

    /// Counts a fetch; returns its 1-based number among the scenario's
    /// credential-issuing fetches (for `credential_failures`).
    pub fn count(&self, source: Source) -> u64 {
        let mut inner = self.lock();
        *inner.fetches.entry(source).or_default() += 1;
        Source::ALL
            .iter()
            .filter(|s| s.issues_credentials())
            .map(|s| inner.fetches.get(s).copied().unwrap_or(0))
            .sum()
    }

    pub fn record_issued(&self, issued: Issued) {
        self.lock().issued.push(issued);
    }

    pub fn add_imds_token(&self, token: String, ttl: Duration) {
        let mut inner = self.lock();
        let now = Instant::now();
        inner.imds_tokens.retain(|_, until| *until > now);
        inner.imds_tokens.insert(token, now + ttl);
    }

    pub fn imds_token_valid(&self, token: &str) -> bool {
        self.lock()
            .imds_tokens
            .get(token)
            .is_some_and(|until| *until > Instant::now())
    }

    pub fn verdict(&self, accepted: bool) {
        let mut inner = self.lock();
        if accepted {
            inner.verified += 1;
        } else {
            inner.rejected += 1;
        }
    }

    /// `GET /_mock/scenarios/<id>/aws`, as JSON.
    pub fn report(&self) -> Value {
        let inner = self.lock();
        let mut fetches = Map::new();
        let mut credential_fetches = 0;
        for source in Source::ALL {
            let n = inner.fetches.get(&source).copied().unwrap_or(0);
            if source.issues_credentials() {
                credential_fetches += n;
            }
            fetches.insert(source.as_str().to_owned(), Value::from(n));
        }
        let issued: Vec<Value> = inner
            .issued
            .iter()
            .map(|i| {
                json!({
                    "source": i.source.as_str(),
                    "access_key_id": i.credential.access_key_id,
                    "secret_access_key": i.credential.secret_access_key,
                    "session_token": i.credential.session_token,
                    "expiration": i.credential.expires_at.map(iso8601),
                })
            })
            .collect();
        json!({
            "configured": inner.config.is_some(),
            "verify": inner.config.as_ref().is_some_and(|c| c.verify),
            "fetches": fetches,
            "credential_fetches": credential_fetches,
            "issued": issued,
            "verified": inner.verified,
            "rejected": inner.rejected,
        })
    }
}

/// Every credential handed out by any scenario, by access key id.
#[derive(Debug, Default)]
pub struct Keyring {
    issued: Mutex<HashMap<String, Credential>>,
    next: std::sync::atomic::AtomicU64,
}

impl Keyring {
    /// Makes a fresh temporary credential valid for `expires_in_s` seconds.
    pub fn issue(&self, expires_in_s: i64) -> Credential {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let now = unix_secs(SystemTime::now());
        let expires = now.saturating_add(expires_in_s).max(0);
        let credential = Credential {
            // 20 characters, like real temporary key ids.
            access_key_id: format!("ASIAMOCK{n:012X}"),
            // 40 characters, like real secrets.
            secret_access_key: format!("mock/Secret+Key{n:025}"),
            session_token: Some(format!(
                "IQoJb3JpZ2luX2VjEMOCK//////////SessionToken{n:016}/mock+token=="
            )),
            expires_at: Some(UNIX_EPOCH + Duration::from_secs(expires.unsigned_abs())),
        };
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(credential.access_key_id.clone(), credential.clone());
        credential
    }

    pub fn get(&self, access_key_id: &str) -> Option<Credential> {
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(access_key_id)
            .cloned()
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2025-10-14T18:33:24Z`, the form STS, ECS and IMDS use.
pub fn iso8601(t: SystemTime) -> String {
    let secs = unix_secs(t);
    aws_smithy_types::DateTime::from_secs(secs)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_strict() {
        let cfg = AwsConfig::parse(&json!({
            "credentials": [{"access_key_id": "AKID", "secret_access_key": "s"}],
            "api_keys": ["k"], "expires_in_s": -5, "credential_delay_ms": 3
        }))
        .expect("valid");
        assert!(cfg.verify);
        assert_eq!(cfg.credentials[0].access_key_id, "AKID");
        assert_eq!(cfg.expires_in_s, -5);
        assert!(AwsConfig::parse(&json!({"credential": []})).is_err());
        assert!(AwsConfig::parse(&json!({"credentials": [{"access_key_id": "a"}]})).is_err());
        assert!(
            !AwsConfig::parse(&json!({"verify": false}))
                .expect("valid")
                .verify
        );
    }

    #[test]
    fn issued_credentials_look_real() {
        let ring = Keyring::default();
        let c = ring.issue(60);
        assert_eq!(c.access_key_id.len(), 20);
        assert_eq!(c.secret_access_key.len(), 40);
        assert_eq!(ring.get(&c.access_key_id), Some(c.clone()));
        let exp = iso8601(c.expires_at.expect("expiry"));
        assert!(exp.ends_with('Z') && exp.len() == 20, "{exp}");
    }
}
