//! Google credential files: a service account's JSON key, and the
//! `authorized_user` file `gcloud auth application-default login` writes.
//! Errors say which file or option was wrong and why, never its values.

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::jwt::SigningKey;
use crate::secret::Secret;
use crate::value::type_name;

/// Where tokens are requested when a file names no `token_uri`.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// Credential files larger than this are not credential files.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A parsed credential file.
#[derive(Debug)]
pub enum Credential {
    ServiceAccount(ServiceAccount),
    AuthorizedUser(AuthorizedUser),
}

impl Credential {
    /// The project a service-account key belongs to.
    pub fn project_id(&self) -> Option<&str> {
        match self {
            Credential::ServiceAccount(sa) => sa.project_id.as_deref(),
            Credential::AuthorizedUser(_) => None,
        }
    }

    /// The project billed for the requests (`x-goog-user-project`): an
    /// `authorized_user`'s `quota_project_id`. Not part of the
    /// fingerprint: it does not change the tokens.
    pub fn quota_project_id(&self) -> Option<&str> {
        match self {
            Credential::ServiceAccount(_) => None,
            Credential::AuthorizedUser(user) => user.quota_project_id.as_deref(),
        }
    }

    /// What tells this credential from another; see [`Fingerprint`].
    pub fn fingerprint(&self) -> Fingerprint {
        match self {
            Credential::ServiceAccount(sa) => Fingerprint {
                kind: "service_account",
                account: sa.client_email.clone(),
                token_uri: sa.token_uri.clone(),
                digest: sa.key_digest,
            },
            Credential::AuthorizedUser(u) => Fingerprint {
                kind: "authorized_user",
                account: u.client_id.clone(),
                token_uri: u.token_uri.clone(),
                digest: digest(&[u.client_secret.expose(), u.refresh_token.expose()]),
            },
        }
    }

    /// Every secret the credential holds or its token request sends.
    pub fn secrets(&self) -> Vec<Secret> {
        match self {
            Credential::ServiceAccount(_) => Vec::new(),
            Credential::AuthorizedUser(u) => vec![u.client_secret.clone(), u.refresh_token.clone()],
        }
    }
}

/// A credential's identity without its secrets: its kind, account, token
/// endpoint and a SHA-256 digest of its secret material (so a rotated key
/// is a new credential). Clients whose credentials have the same
/// fingerprint share their tokens.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    kind: &'static str,
    account: String,
    token_uri: String,
    digest: [u8; 32],
}

/// SHA-256 over `parts`, each length-prefixed so that no two lists of
/// parts digest alike by moving a boundary.
fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// `"type": "service_account"`.
pub struct ServiceAccount {
    pub client_email: String,
    pub key: SigningKey,
    /// Of the PEM text, for [`Fingerprint`].
    key_digest: [u8; 32],
    pub key_id: Option<String>,
    pub token_uri: String,
    pub project_id: Option<String>,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// `"type": "authorized_user"`: a user's refresh token for an OAuth client.
pub struct AuthorizedUser {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub token_uri: String,
    /// Billed for the requests (`x-goog-user-project`).
    pub quota_project_id: Option<String>,
}

impl fmt::Debug for AuthorizedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedUser")
            .field("client_id", &self.client_id)
            .field("token_uri", &self.token_uri)
            .field("quota_project_id", &self.quota_project_id)
            .finish_non_exhaustive()
    }
}

/// Reads a credential from a map (an already decoded file).
pub fn from_map(map: &Map<String, Value>) -> Result<Credential, String> {
    let field = |name: &str| -> Result<Option<&str>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(format!(
                "field {name:?} must be a string, got {}",
                type_name(other)
            )),
        }
    };
    let required = |name: &str| -> Result<&str, String> {
        field(name)?.ok_or_else(|| format!("field {name:?} is missing"))
    };
    let token_uri = match field("token_uri")? {
        Some(uri) if uri.starts_with("https://") || uri.starts_with("http://") => uri.to_owned(),
        Some(_) => return Err("field \"token_uri\" must be an http or https URL".into()),
        None => DEFAULT_TOKEN_URI.to_owned(),
    };
    match field("type")? {
        Some("service_account") => {
            let pem = required("private_key")?;
            let key = SigningKey::from_pem(pem)?;
            Ok(Credential::ServiceAccount(ServiceAccount {
                client_email: required("client_email")?.to_owned(),
                key,
                key_digest: digest(&[pem]),
                key_id: field("private_key_id")?.map(str::to_owned),
                token_uri,
                project_id: field("project_id")?.map(str::to_owned),
            }))
        }
        Some("authorized_user") => Ok(Credential::AuthorizedUser(AuthorizedUser {
            client_id: required("client_id")?.to_owned(),
            client_secret: Secret::new(required("client_secret")?),
            refresh_token: Secret::new(required("refresh_token")?),
            token_uri,
            quota_project_id: field("quota_project_id")?.map(str::to_owned),
        })),
        Some(other) => Err(format!(
            "credential type {} is not supported (supported: \"service_account\", \"authorized_user\")",
            crate::value::shown(other)
        )),
        None => Err("field \"type\" is missing".into()),
    }
}

/// Reads a credential from JSON text.
pub fn from_json(text: &str) -> Result<Credential, String> {
    // serde_json's messages give a position, never the text around it.
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => from_map(&map),
        Ok(other) => Err(format!(
            "it must be a JSON object, got {}",
            type_name(&other)
        )),
        Err(e) => Err(format!("it is not valid JSON ({e})")),
    }
}

/// Reads a credential file. `Ok(None)` when it does not exist.
pub fn read_file(path: &Path) -> Result<Option<Credential>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it ({e})")),
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err("it is larger than 1 MiB".into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it ({e})"))?;
    from_json(&text).map(Some)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn files_are_checked_without_quoting_their_values() {
        for (bad, why) in [
            (
                json!({"type": "authorized_user", "client_id": "c", "client_secret": "sssecret"}),
                "refresh_token",
            ),
            (json!({"type": "external_account"}), "not supported"),
            (
                json!({"type": "service_account", "client_email": "a@b", "private_key": "pk-not-pem"}),
                "PEM",
            ),
            (json!({"client_email": "a@b"}), "\"type\" is missing"),
            (
                json!({"type": "authorized_user", "client_id": 5}),
                "must be a string",
            ),
        ] {
            let e = from_map(bad.as_object().unwrap()).unwrap_err();
            assert!(e.contains(why), "{e}");
            assert!(!e.contains("sssecret") && !e.contains("pk-not-pem"), "{e}");
        }
        assert!(from_json("[1]").unwrap_err().contains("JSON object"));
        assert!(from_json("{\"secret-ish")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(read_file(Path::new("/nonexistent/creds.json"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn authorized_user_defaults_its_token_uri_and_hides_secrets() {
        let c = from_map(
            json!({"type": "authorized_user", "client_id": "123", "client_secret": "csecret",
                   "refresh_token": "rtoken", "quota_project_id": "billed"})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("csecret") && !shown.contains("rtoken"),
            "{shown}"
        );
        let Credential::AuthorizedUser(u) = c else {
            panic!("not a user credential")
        };
        assert_eq!(u.token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(u.quota_project_id.as_deref(), Some("billed"));
    }
}
