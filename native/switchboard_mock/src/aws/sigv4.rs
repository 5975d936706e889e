//! Checks a request's `Authorization` the way an AWS front end does: finds
//! the secret for the access key id, then recomputes the SigV4 signature with
//! `aws-sigv4` over the request exactly as received (method, raw path, query,
//! the headers it lists as signed, the body) and compares.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use hyper::header::{HeaderMap, AUTHORIZATION, HOST};

use super::{AwsConfig, Credential, Keyring};
use crate::dialect::{bedrock_error, ErrorReply};

/// How far the request's clock may be from ours (AWS allows five minutes).
const MAX_SKEW: Duration = Duration::from_secs(5 * 60);
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// An accepted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    SigV4 { access_key_id: String },
    Bearer,
}

impl Accepted {
    pub fn scheme(&self) -> &'static str {
        match self {
            Accepted::SigV4 { .. } => "sigv4",
            Accepted::Bearer => "bearer",
        }
    }
}

/// A rejected request: the error type and message the service answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub error_type: &'static str,
    pub message: String,
    /// A bad Bedrock API key, which has its own answer.
    pub api_key: bool,
}

impl Rejected {
    /// Status and body the service answers with.
    pub fn reply(&self) -> (u16, ErrorReply) {
        let reply = if self.api_key {
            bedrock_error::api_key_error()
        } else {
            bedrock_error::error_with_message(self.error_type, &self.message)
        };
        (bedrock_error::status_for_type(self.error_type), reply)
    }
}

fn reject(error_type: &'static str, message: impl Into<String>) -> Rejected {
    Rejected {
        error_type,
        message: message.into(),
        api_key: false,
    }
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// The request as the server received it.
#[derive(Debug)]
pub struct Received<'a> {
    pub method: &'a str,
    /// The path exactly as sent, scenario prefix included, still encoded.
    pub raw_path: &'a str,
    pub query: Option<&'a str>,
    /// Used for `host` when there is no `host` header (HTTP/2).
    pub authority: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, PartialEq, Eq)]
struct AuthHeader<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_auth(value: &str) -> Result<AuthHeader<'_>, Rejected> {
    let incomplete = |what: &str| {
        reject(
            "IncompleteSignatureException",
            format!("Authorization header requires '{what}' parameter."),
        )
    };
    let Some(params) = value.strip_prefix(ALGORITHM) else {
        let algorithm = value.split_whitespace().next().unwrap_or_default();
        return Err(reject(
            "IncompleteSignatureException",
            format!("Unsupported authorization algorithm {algorithm:?}; use {ALGORITHM}."),
        ));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in params.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential.ok_or_else(|| incomplete("Credential"))?;
    let signed = signed.ok_or_else(|| incomplete("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| incomplete("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(reject(
            "IncompleteSignatureException",
            format!(
                "Credential should be scoped to a valid region, service and date, with the form <key>/<date>/<region>/<service>/aws4_request; got {} parts.",
                scope.len()
            ),
        ));
    };
    Ok(AuthHeader {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// `20250101T000000Z` -> time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    let t =
        aws_smithy_types::DateTime::from_str(&iso, aws_smithy_types::date_time::Format::DateTime)
            .ok()?;
    SystemTime::try_from(t).ok()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Verifies `req` against the scenario's keys and the server-wide keyring.
/// `service` is the signing name the endpoint expects (`bedrock`).
pub fn verify(
    cfg: &AwsConfig,
    keyring: &Keyring,
    req: &Received<'_>,
    service: &str,
    now: SystemTime,
) -> Result<Accepted, Rejected> {
    let Some(value) = req.headers.get(AUTHORIZATION) else {
        return Err(reject(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let value = value.to_str().map_err(|_| {
        reject(
            "IncompleteSignatureException",
            "The Authorization header is not ASCII.",
        )
    })?;
    if let Some(key) = value.strip_prefix("Bearer ") {
        return if cfg.api_keys.iter().any(|k| k == key.trim()) {
            Ok(Accepted::Bearer)
        } else {
            Err(Rejected {
                error_type: "UnrecognizedClientException",
                message: "Authentication failed: Please make sure your API Key is valid.".into(),
                api_key: true,
            })
        };
    }
    let auth = parse_auth(value)?;

    let Some(amz_date) = header(req.headers, "x-amz-date") else {
        return Err(reject(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let Some(time) = parse_amz_date(amz_date) else {
        return Err(reject(
            "IncompleteSignatureException",
            format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'."),
        ));
    };
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                &amz_date[..8]
            ),
        ));
    }
    if now.duration_since(time).is_ok_and(|d| d > MAX_SKEW) {
        return Err(reject(
            "InvalidSignatureException",
            format!("Signature expired: {amz_date} is now earlier than the allowed five minutes before the server's time."),
        ));
    }
    if time.duration_since(now).is_ok_and(|d| d > MAX_SKEW) {
        return Err(reject(
            "InvalidSignatureException",
            format!("Signature not yet current: {amz_date} is still later than five minutes after the server's time."),
        ));
    }
    if auth.service != service {
        return Err(reject(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: '{service}'. "),
        ));
    }
    if cfg.region.as_deref().is_some_and(|r| r != auth.region) {
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.region
            ),
        ));
    }

    let credential = cfg
        .credentials
        .iter()
        .find(|c| c.access_key_id == auth.access_key_id)
        .cloned()
        .or_else(|| keyring.get(auth.access_key_id))
        .ok_or_else(|| reject("UnrecognizedClientException", INVALID_TOKEN))?;
    let sent_token = header(req.headers, "x-amz-security-token");
    if sent_token != credential.session_token.as_deref() {
        return Err(reject("UnrecognizedClientException", INVALID_TOKEN));
    }
    if credential.expires_at.is_some_and(|at| now >= at) {
        return Err(reject(
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ));
    }

    let expected = signature_of(req, &auth, &credential, time)?;
    if expected == auth.signature {
        Ok(Accepted::SigV4 {
            access_key_id: credential.access_key_id,
        })
    } else {
        Err(reject(
            "InvalidSignatureException",
            bedrock_error::SIGNATURE_MISMATCH,
        ))
    }
}

/// The signature `aws-sigv4` computes for the request as received, signing
/// exactly the headers the client listed.
fn signature_of(
    req: &Received<'_>,
    auth: &AuthHeader<'_>,
    credential: &Credential,
    time: SystemTime,
) -> Result<String, Rejected> {
    let mismatch = || {
        reject(
            "InvalidSignatureException",
            bedrock_error::SIGNATURE_MISMATCH,
        )
    };
    let signs = |name: &str| auth.signed_headers.contains(&name);
    let host = header(req.headers, HOST.as_str())
        .or(req.authority)
        .unwrap_or_default();
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        if *name == HOST.as_str() && !req.headers.contains_key(HOST) {
            headers.push((HOST.as_str(), host));
            continue;
        }
        for value in req.headers.get_all(*name) {
            headers.push((name, value.to_str().map_err(|_| mismatch())?));
        }
    }
    let body = match header(req.headers, "x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => SignableBody::UnsignedPayload,
        _ => SignableBody::Bytes(req.body),
    };
    let uri = match req.query {
        Some(q) => format!("http://{host}{}?{q}", req.raw_path),
        None => format!("http://{host}{}", req.raw_path),
    };
    let request = SignableRequest::new(req.method, Cow::Owned(uri), headers.into_iter(), body)
        .map_err(|_| mismatch())?;

    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
    // Only listed headers are passed in, so nothing needs excluding.
    settings.excluded_headers = None;
    settings.payload_checksum_kind = if signs("x-amz-content-sha256") {
        PayloadChecksumKind::XAmzSha256
    } else {
        PayloadChecksumKind::NoHeader
    };
    settings.session_token_mode = if signs("x-amz-security-token") {
        SessionTokenMode::Include
    } else {
        SessionTokenMode::Exclude
    };
    let identity: Identity = Credentials::new(
        &credential.access_key_id,
        &credential.secret_access_key,
        credential.session_token.clone(),
        None,
        "switchboard_mock",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| mismatch())?
        .into();
    let output = sign(request, &params).map_err(|_| mismatch())?;
    Ok(output.signature().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_authorization_header() {
        let a = parse_auth("AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc").expect("valid");
        assert_eq!(a.access_key_id, "AKID");
        assert_eq!(a.region, "us-east-1");
        assert_eq!(a.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(a.signature, "abc");
        let e =
            parse_auth("AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request")
                .expect_err("incomplete");
        assert_eq!(e.error_type, "IncompleteSignatureException");
        assert!(
            parse_auth("AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature=a")
                .is_err()
        );
    }

    fn corpus() -> Option<std::path::PathBuf> {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/aws-sigv4");
        if dir.exists() {
            Some(dir)
        } else {
            eprintln!("skipped: conformance corpus not found at {}", dir.display());
            None
        }
    }

    fn time(iso: &str) -> SystemTime {
        let t = aws_smithy_types::DateTime::from_str(
            iso,
            aws_smithy_types::date_time::Format::DateTime,
        )
        .expect("timestamp");
        SystemTime::try_from(t).expect("system time")
    }

    fn config(akid: &str, secret: &str, token: Option<&str>) -> AwsConfig {
        AwsConfig {
            verify: true,
            credentials: vec![Credential {
                access_key_id: akid.into(),
                secret_access_key: secret.into(),
                session_token: token.map(str::to_owned),
                expires_at: None,
            }],
            ..AwsConfig::default()
        }
    }

    /// Verifies a signed request written as raw HTTP (the smithy-rs suite's
    /// `header-signed-request.txt`).
    fn verify_raw(
        raw: &str,
        cfg: &AwsConfig,
        service: &str,
        now: SystemTime,
    ) -> Result<Accepted, Rejected> {
        let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
        let mut lines = head.lines();
        let request_line = lines.next().expect("request line");
        let mut parts = request_line.split(' ');
        let method = parts.next().expect("method");
        let target = parts.next().expect("target");
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("header line");
            headers.append(
                hyper::header::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .expect("name"),
                hyper::header::HeaderValue::from_str(value.trim()).expect("value"),
            );
        }
        let received = Received {
            method,
            raw_path: path,
            query,
            authority: None,
            headers: &headers,
            body: body.as_bytes(),
        };
        verify(cfg, &Keyring::default(), &received, service, now)
    }

    /// Every header-signing case of the smithy-rs (aws-c-auth) suite that
    /// normalizes paths, as AWS services other than S3 do: the signature
    /// those independent signers computed is accepted, and rejected once the
    /// secret or the body changes.
    #[test]
    fn accepts_the_smithy_rs_suite() {
        let Some(dir) = corpus() else { return };
        let suite = dir.join("smithy-rs-aws-signing-test-suite/v4");
        // Raw requests HTTP cannot carry: a path with a space, a header
        // value spanning lines.
        let unrepresentable = ["get-space-normalized", "get-header-value-multiline"];
        let mut checked = 0;
        for entry in std::fs::read_dir(&suite).expect("suite") {
            let case = entry.expect("entry").path();
            let name = case
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let Ok(context) = std::fs::read(case.join("context.json")) else {
                continue;
            };
            let ctx: serde_json::Value = serde_json::from_slice(&context).expect("context");
            if ctx["normalize"] != true || unrepresentable.contains(&name.as_str()) {
                continue;
            }
            let raw = std::fs::read_to_string(case.join("header-signed-request.txt"))
                .expect("signed request");
            let c = &ctx["credentials"];
            let cfg = config(
                c["access_key_id"].as_str().expect("akid"),
                c["secret_access_key"].as_str().expect("secret"),
                c["token"].as_str(),
            );
            let service = ctx["service"].as_str().expect("service");
            let now = time(ctx["timestamp"].as_str().expect("timestamp"));
            let accepted = verify_raw(&raw, &cfg, service, now);
            assert!(
                matches!(accepted, Ok(Accepted::SigV4 { .. })),
                "{name}: {accepted:?}"
            );
            let mut wrong = cfg.clone();
            wrong.credentials[0].secret_access_key.push('x');
            let rejected = verify_raw(&raw, &wrong, service, now).expect_err(&name);
            assert_eq!(rejected.error_type, "InvalidSignatureException", "{name}");
            checked += 1;
        }
        assert!(checked >= 25, "only {checked} cases found");

        // smithy-rs's own case for ids with `:` in a path segment, as
        // Bedrock model ids and ARNs are: `%3A` is signed as `%253A`.
        let raw =
            std::fs::read_to_string(suite.join("double-url-encode/header-signed-request.txt"))
                .expect("double-url-encode");
        let cfg = config(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        );
        let now = time("2021-05-11T15:40:45Z");
        assert!(verify_raw(&raw, &cfg, "lambda", now).is_ok());
        let decoded = raw.replacen("%3A", ":", 1);
        assert!(verify_raw(&decoded, &cfg, "lambda", now).is_err());
    }

    /// The openai-python Bedrock vector (session token, x-amz-content-sha256),
    /// signed by botocore.
    #[test]
    fn accepts_the_openai_python_bedrock_vector() {
        let Some(dir) = corpus() else { return };
        let v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("openai-python-bedrock/sigv4.json")).expect("vector"),
        )
        .expect("json");
        let c = &v["credentials"];
        let cfg = config(
            c["accessKeyId"].as_str().expect("akid"),
            c["secretAccessKey"].as_str().expect("secret"),
            c["sessionToken"].as_str(),
        );
        let body = v["request"]["body"].as_str().expect("body");
        let raw = format!(
            "POST /openai/v1/responses HTTP/1.1\ncontent-type:application/json\nhost:bedrock-mantle.us-east-1.api.aws\nx-amz-content-sha256:{}\nx-amz-date:{}\nx-amz-security-token:{}\nauthorization:{}\n\n{body}",
            v["expected"]["payloadHash"].as_str().expect("hash"),
            v["expected"]["date"].as_str().expect("date"),
            c["sessionToken"].as_str().expect("token"),
            v["expected"]["authorization"].as_str().expect("authorization"),
        );
        let now = time("2025-01-02T03:04:05Z");
        assert!(verify_raw(&raw, &cfg, "bedrock-mantle", now).is_ok());
        let tampered = raw.replace("hello", "hellO");
        assert_eq!(
            verify_raw(&tampered, &cfg, "bedrock-mantle", now)
                .expect_err("body changed")
                .error_type,
            "InvalidSignatureException"
        );
        let late = now + Duration::from_secs(301);
        assert!(verify_raw(&raw, &cfg, "bedrock-mantle", late)
            .expect_err("too old")
            .message
            .starts_with("Signature expired"));
        assert_eq!(
            verify_raw(&raw, &cfg, "bedrock", now)
                .expect_err("other service")
                .error_type,
            "InvalidSignatureException"
        );
        let no_token = config(
            c["accessKeyId"].as_str().expect("akid"),
            c["secretAccessKey"].as_str().expect("secret"),
            None,
        );
        assert_eq!(
            verify_raw(&raw, &no_token, "bedrock-mantle", now)
                .expect_err("token not expected")
                .error_type,
            "UnrecognizedClientException"
        );
    }

    #[test]
    fn parses_amz_dates() {
        let t = parse_amz_date("20150830T123600Z").expect("valid");
        assert_eq!(super::super::iso8601(t), "2015-08-30T12:36:00Z");
        assert!(parse_amz_date("2015-08-30T12:36:00Z").is_none());
    }
}
