//! Trading a credential for an OAuth access token: a service account's
//! signed assertion or a user's refresh token at a token endpoint, or the
//! GCE metadata server's token for the machine's service account.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::Method;
use serde_json::Value;

use super::credentials::{AuthorizedUser, ServiceAccount};
use super::jwt;
use crate::auth::http::{self, Answer, Fetch, Route};
use crate::error::{Error, ErrorKind};
use crate::secret::{Secret, Secrets};

/// A token's lifetime when the endpoint does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest lifetime read from an answer (Google's tokens live at most
/// 12 hours). A larger `expires_in` is read as this, so a broken endpoint
/// cannot push the cache's expiry past what a clock can hold.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// An access token and how long it is valid from when it was received.
pub struct AccessToken {
    pub token: Secret,
    pub lifetime: Duration,
}

fn auth_error(message: String) -> Error {
    Error::new(ErrorKind::Auth, message)
}

/// Exchanges a service account's signed assertion (RFC 7523) for a token.
pub async fn service_account(sa: &ServiceAccount) -> Result<AccessToken, Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let assertion =
        jwt::service_account_assertion(&sa.key, sa.key_id.as_deref(), &sa.client_email, now)
            .map_err(|e| {
                auth_error(format!(
                    "cannot sign the assertion of service account {}: {e}",
                    sa.client_email
                ))
            })?;
    let form = jwt_bearer_form(&assertion);
    let mut secrets = Secrets::default();
    secrets.push(assertion);
    let what = format!(
        "the access token request for service account {} to {}",
        sa.client_email, sa.token_uri
    );
    token_endpoint(&sa.token_uri, form, &what, &secrets).await
}

/// The form a signed assertion is posted in (RFC 7523 section 2.1).
pub fn jwt_bearer_form(assertion: &Secret) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .append_pair("assertion", assertion.expose())
        .finish()
}

/// Refreshes a user's access token (`gcloud auth application-default login`).
pub async fn authorized_user(user: &AuthorizedUser) -> Result<AccessToken, Error> {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("client_id", &user.client_id)
        .append_pair("client_secret", user.client_secret.expose())
        .append_pair("refresh_token", user.refresh_token.expose())
        .finish();
    let mut secrets = Secrets::default();
    secrets.push(user.client_secret.clone());
    secrets.push(user.refresh_token.clone());
    let what = format!(
        "the access token refresh for OAuth client {} to {}",
        user.client_id, user.token_uri
    );
    token_endpoint(&user.token_uri, form, &what, &secrets).await
}

async fn token_endpoint(
    uri: &str,
    form: String,
    what: &str,
    secrets: &Secrets,
) -> Result<AccessToken, Error> {
    let answer = http::send(
        Fetch {
            route: Route::Internet,
            method: Method::POST,
            url: uri,
            headers: HeaderMap::new(),
            form: Some(form),
        },
        what,
    )
    .await
    .map_err(|e| redacted(e, secrets))?;
    read_token(&answer, what).map_err(|e| redacted(e, secrets))
}

/// The metadata server's address: `GCE_METADATA_HOST`, as Google's
/// libraries read it, else the name it has on every GCE machine.
pub fn metadata_host() -> String {
    crate::env::var("GCE_METADATA_HOST").unwrap_or_else(|| "metadata.google.internal".to_owned())
}

fn metadata_fetch(url: &str) -> Fetch<'_> {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("metadata-flavor"),
        HeaderValue::from_static("Google"),
    );
    Fetch {
        route: Route::Local,
        method: Method::GET,
        url,
        headers,
        form: None,
    }
}

/// The token of the machine's default service account.
pub async fn metadata(host: &str) -> Result<AccessToken, Error> {
    let url = format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token");
    let what = format!("the access token request to the GCE metadata server at {host}");
    let answer = http::send(metadata_fetch(&url), &what).await?;
    read_token(&answer, &what)
}

/// The project the machine belongs to.
pub async fn metadata_project(host: &str) -> Result<String, Error> {
    let url = format!("http://{host}/computeMetadata/v1/project/project-id");
    let what = format!("the project ID request to the GCE metadata server at {host}");
    let answer = http::send(metadata_fetch(&url), &what).await?;
    let text = String::from_utf8_lossy(&answer.body).trim().to_owned();
    if !answer.is_success() || text.is_empty() {
        return Err(auth_error(format!(
            "{what} answered HTTP {} without a project ID",
            answer.status
        )));
    }
    Ok(text)
}

/// Reads `{"access_token", "expires_in", "token_type"}`, or the endpoint's
/// OAuth error (`{"error", "error_description"}`). `what` names the request
/// in errors. Public for the fuzz tests.
pub fn read_token(answer: &Answer, what: &str) -> Result<AccessToken, Error> {
    let json: Option<Value> = serde_json::from_slice(&answer.body).ok();
    if !answer.is_success() {
        let reason = json.as_ref().map(oauth_error).unwrap_or_default();
        return Err(auth_error(format!(
            "{what} was refused: HTTP {}{reason}",
            answer.status
        )));
    }
    let token = json
        .as_ref()
        .and_then(|v| v.get("access_token"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| auth_error(format!("{what} answered without an access_token")))?;
    let lifetime = json
        .as_ref()
        .and_then(|v| v.get("expires_in"))
        .and_then(|e| match e {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .map_or(DEFAULT_LIFETIME, |secs| {
            Duration::from_secs(secs).min(MAX_LIFETIME)
        });
    Ok(AccessToken {
        token: Secret::new(token),
        lifetime,
    })
}

/// `: invalid_grant: Invalid JWT Signature.` from an OAuth error body, or
/// the `{"error": {"message"}}` shape some proxies answer with.
fn oauth_error(v: &Value) -> String {
    let (code, description) = match v.get("error") {
        Some(Value::String(code)) => (
            Some(code.as_str()),
            v.get("error_description").and_then(Value::as_str),
        ),
        Some(Value::Object(e)) => (
            e.get("status").and_then(Value::as_str),
            e.get("message").and_then(Value::as_str),
        ),
        _ => (None, None),
    };
    let text = match (code, description) {
        (Some(c), Some(d)) => format!(": {c}: {d}"),
        (Some(c), None) => format!(": {c}"),
        (None, Some(d)) => format!(": {d}"),
        (None, None) => String::new(),
    };
    text.chars().take(500).collect()
}

fn redacted(e: Error, secrets: &Secrets) -> Error {
    Error {
        message: secrets.redact(&e.message),
        ..e
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: Bytes::from(body.to_owned()),
        }
    }

    /// Found by tests/fuzz: `expires_in` near `u64::MAX` was kept whole,
    /// and caching the token (now + lifetime) overflowed the clock.
    #[test]
    fn an_endless_lifetime_is_capped() {
        let t = read_token(
            &answer(
                200,
                r#"{"access_token":"a","expires_in":18446744073709551615}"#,
            ),
            "w",
        )
        .unwrap();
        assert_eq!(t.lifetime, MAX_LIFETIME);
        assert!(tokio::time::Instant::now()
            .checked_add(t.lifetime)
            .is_some());
    }

    #[test]
    fn tokens_and_refusals_are_read() {
        let t = read_token(
            &answer(
                200,
                r#"{"access_token":"ya29.x","expires_in":"120","token_type":"Bearer"}"#,
            ),
            "w",
        )
        .unwrap();
        assert_eq!((t.token.expose(), t.lifetime.as_secs()), ("ya29.x", 120));
        let t = read_token(&answer(200, r#"{"access_token":"a"}"#), "w").unwrap();
        assert_eq!(t.lifetime, DEFAULT_LIFETIME);
        let e = read_token(
            &answer(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            ),
            "the request",
        )
        .err()
        .unwrap();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(
            e.message,
            "the request was refused: HTTP 400: invalid_grant: Invalid JWT Signature."
        );
        let e = read_token(&answer(200, "<html>"), "w").err().unwrap();
        assert!(e.message.contains("without an access_token"));
    }
}
