//! Google OAuth for Vertex AI: find the credentials, trade them for an
//! access token, cache it, and send it as `authorization: Bearer`.
//!
//! Credentials are looked for in this order, as Google's libraries do:
//!
//! 1. the client's `credentials` option (read when the registry is built);
//! 2. the file `GOOGLE_APPLICATION_CREDENTIALS` names;
//! 3. gcloud's application default credentials,
//!    `$CLOUDSDK_CONFIG/application_default_credentials.json`, by default
//!    `$HOME/.config/gcloud/application_default_credentials.json`;
//! 4. the GCE metadata server (`GCE_METADATA_HOST`, by default
//!    `metadata.google.internal`).
//!
//! Variables are read through [`crate::env`] when a token is needed, so
//! they may be set after the registry is built. The source found is kept
//! while it yields tokens; after a failure, the next call looks again.
//!
//! Tokens are cached per credential in the registry's [`CredentialCaches`]:
//! every `vertex-ai` client with the same configured credential (the same
//! [`Fingerprint`]), or every one that relies on discovery, shares one
//! [`TokenSource`], across rebuilds and reloads too. A token is fetched once
//! for all the calls that need it at the same moment; it is refreshed
//! 3 min 45 s before it expires (as google-auth does) or halfway through a
//! shorter lifetime. A failed fetch is an `:auth` error of that attempt and
//! is not cached. The project is each client's own: its `project_id`
//! option, else the credential's, else the metadata server's (asked once
//! per source), else `GOOGLE_CLOUD_PROJECT`.

pub mod credentials;
pub mod jwt;
pub mod token;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};

use super::{Authorize, CachedCredential, CredentialCaches, Expiring};
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;
use crate::wire::HttpRequest;
pub use credentials::{Credential, Fingerprint};

/// How long before expiry a token is refreshed (google-auth's threshold).
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(225);

/// Where tokens come from, once found.
#[derive(Debug)]
enum Source {
    Credential {
        credential: Arc<Credential>,
        /// Which option, variable or file it came from, for errors.
        origin: String,
    },
    Metadata {
        host: String,
        /// The project the server names, asked once, when a client needs it.
        project: CachedCredential<String>,
    },
}

/// A source, and what was looked at before it (for errors).
#[derive(Debug)]
struct Found {
    source: Source,
    tried: Vec<String>,
}

/// The tokens of one credential, configured or discovered, shared by the
/// clients that have it.
pub struct TokenSource {
    /// The `credentials` option, parsed when the registry was built.
    configured: Option<Arc<Credential>>,
    /// The source found, kept while it yields tokens: after a failure the
    /// next call looks again.
    found: CachedCredential<Arc<Found>>,
    token: CachedCredential<Secret>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("configured", &self.configured.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The token source `caches` keeps for `configured` (by its
    /// fingerprint), or for discovery; made now if there is none yet.
    pub fn shared(caches: &CredentialCaches, configured: Option<Credential>) -> Arc<TokenSource> {
        match configured {
            Some(c) => caches
                .google
                .get_or_insert_with(c.fingerprint(), || TokenSource::new(Some(c))),
            None => caches
                .google_discovered
                .get_or_init(|| Arc::new(TokenSource::new(None)))
                .clone(),
        }
    }

    fn new(configured: Option<Credential>) -> Self {
        TokenSource {
            configured: configured.map(Arc::new),
            found: CachedCredential::new(Duration::ZERO),
            token: CachedCredential::new(Duration::ZERO),
        }
    }

    /// The kept source, else the one found now; concurrent callers share
    /// one search.
    async fn found(&self) -> Result<Arc<Found>, Error> {
        self.found
            .get(|| async {
                let found = match &self.configured {
                    Some(c) => Found {
                        source: Source::Credential {
                            credential: c.clone(),
                            origin: "the credentials option".into(),
                        },
                        tried: Vec::new(),
                    },
                    None => find_source()?,
                };
                Ok(Expiring {
                    value: Arc::new(found),
                    expires_at: None,
                })
            })
            .await
    }

    /// The cached token, or a new one from `found`; concurrent callers
    /// share one fetch.
    async fn token(&self, found: &Found) -> Result<Secret, Error> {
        let result = self
            .token
            .get(|| async {
                let fetched = fetch(&found.source).await?;
                let early = REFRESH_BEFORE_EXPIRY.min(fetched.lifetime / 2);
                Ok(Expiring::for_duration(
                    fetched.token,
                    fetched.lifetime - early,
                ))
            })
            .await;
        if result.is_err() {
            self.found.invalidate();
        }
        result
    }
}

/// The OAuth authorizer of one `vertex-ai` client.
pub struct GoogleAuth {
    /// The `project_id` option, else the configured credential's project.
    project: Option<String>,
    /// The configured credential's quota project. Kept per client: clients
    /// whose credentials differ only in it share one token source, which
    /// holds the first one's credential.
    quota_project: Option<String>,
    tokens: Arc<TokenSource>,
}

impl fmt::Debug for GoogleAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleAuth")
            .field("project", &self.project)
            .field("quota_project", &self.quota_project)
            .field("tokens", &self.tokens)
            .finish()
    }
}

impl GoogleAuth {
    pub fn new(
        tokens: Arc<TokenSource>,
        project: Option<String>,
        quota_project: Option<String>,
    ) -> Self {
        GoogleAuth {
            project,
            quota_project,
            tokens,
        }
    }

    /// Forgets the cached token, e.g. after the API said it is not valid:
    /// the next attempt of every client sharing it fetches a new one.
    pub fn invalidate(&self) {
        self.tokens.token.invalidate();
    }

    /// The project of a client whose options and configured credential
    /// name none: the credential found (its own, or the metadata server's),
    /// else `GOOGLE_CLOUD_PROJECT`. Asked before the request is built, and
    /// before any token is fetched; a failure is an `:auth` error, after
    /// which the next call looks for credentials again.
    pub async fn resolve_project(&self) -> Result<String, Error> {
        let found = self.tokens.found().await?;
        let project = self.project(&found).await;
        if project.is_err() {
            self.tokens.found.invalidate();
        }
        project
    }

    /// The project requests go to, known before any token is fetched.
    async fn project(&self, found: &Found) -> Result<String, Error> {
        if let Some(project) = &self.project {
            return Ok(project.clone());
        }
        let mut asked_metadata = None;
        let from_source = match &found.source {
            Source::Credential { credential, .. } => credential.project_id().map(str::to_owned),
            Source::Metadata { host, project } => {
                let asked = project
                    .get(|| async {
                        Ok(Expiring {
                            value: token::metadata_project(host).await?,
                            expires_at: None,
                        })
                    })
                    .await;
                asked.map_err(|e| asked_metadata = Some(e.message)).ok()
            }
        };
        let project = from_source
            .or_else(|| crate::env::var("GOOGLE_CLOUD_PROJECT"))
            .ok_or_else(|| {
                let mut message = "vertex-ai needs a project ID: set the project_id option, use \
                     a service account key that has a project_id, or set GOOGLE_CLOUD_PROJECT"
                    .to_owned();
                let tried: Vec<&str> = found
                    .tried
                    .iter()
                    .chain(&asked_metadata)
                    .map(String::as_str)
                    .collect();
                if !tried.is_empty() {
                    message.push_str(&format!(" ({})", tried.join("; ")));
                }
                Error::new(ErrorKind::Auth, message)
            })?;
        check_project(&project).map_err(|e| Error::new(ErrorKind::Auth, e))?;
        Ok(project)
    }
}

/// The first of `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file and the
/// metadata server; with what was looked at before it, for errors.
fn find_source() -> Result<Found, Error> {
    let credential = |path: PathBuf, origin: String| {
        credentials::read_file(&path)
            .map_err(|why| Error::new(ErrorKind::Auth, format!("{origin} is not usable: {why}")))
            .map(|c| {
                c.map(|c| Source::Credential {
                    credential: Arc::new(c),
                    origin,
                })
            })
    };
    let mut tried = Vec::new();
    match crate::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(path) => {
            let origin = format!("the file GOOGLE_APPLICATION_CREDENTIALS names ({path})");
            return match credential(PathBuf::from(&path), origin.clone())? {
                Some(source) => Ok(Found { source, tried }),
                None => Err(Error::new(
                    ErrorKind::Auth,
                    format!("{origin} does not exist"),
                )),
            };
        }
        None => tried.push("GOOGLE_APPLICATION_CREDENTIALS is not set".to_owned()),
    }
    if let Some(path) = gcloud_adc_path() {
        let origin = format!(
            "gcloud's application default credentials ({})",
            path.display()
        );
        match credential(path.clone(), origin)? {
            Some(source) => return Ok(Found { source, tried }),
            None => tried.push(format!("{} does not exist", path.display())),
        }
    }
    Ok(Found {
        source: Source::Metadata {
            host: token::metadata_host(),
            project: CachedCredential::new(Duration::ZERO),
        },
        tried,
    })
}

/// `$CLOUDSDK_CONFIG/application_default_credentials.json`, or under
/// `$HOME/.config/gcloud` when that is not set.
fn gcloud_adc_path() -> Option<PathBuf> {
    let dir = match crate::env::var("CLOUDSDK_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(crate::env::var("HOME")?).join(".config/gcloud"),
    };
    Some(dir.join("application_default_credentials.json"))
}

/// A project ID as it may appear in a URL path: letters, digits, `-`, and
/// `.` and `:` for domain-scoped projects (`example.com:my-project`).
pub fn check_project(project: &str) -> Result<(), String> {
    let ok = !project.is_empty()
        && project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "project ID {} may only hold letters, digits, '-', '.' and ':'",
            crate::value::shown(project)
        )),
    }
}

async fn fetch(source: &Source) -> Result<token::AccessToken, Error> {
    match source {
        Source::Credential { credential, origin } => {
            let result = match credential.as_ref() {
                Credential::ServiceAccount(sa) => token::service_account(sa).await,
                Credential::AuthorizedUser(user) => token::authorized_user(user).await,
            };
            result.map_err(|e| Error {
                message: format!("{} (credentials from {origin})", e.message),
                ..e
            })
        }
        Source::Metadata { host, .. } => token::metadata(host).await.map_err(|e| Error {
            message: format!(
                "no Google credentials found (GOOGLE_APPLICATION_CREDENTIALS is not set and \
                 gcloud has no application default credentials), and {}",
                e.message
            ),
            ..e
        }),
    }
}

impl GoogleAuth {
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), Error> {
        // A token the user set in `headers:` wins, as keys do elsewhere.
        if request.headers.contains_key(AUTHORIZATION) {
            return Ok(());
        }
        let found = self.tokens.found().await?;
        let token = self.tokens.token(&found).await?;
        // A configured credential's quota project is this client's own; a
        // discovered one's is the same for every client.
        let quota_project = match (&self.tokens.configured, &found.source) {
            (Some(_), _) => self.quota_project.as_deref(),
            (None, Source::Credential { credential, .. }) => credential.quota_project_id(),
            (None, Source::Metadata { .. }) => None,
        };
        let quota = HeaderName::from_static("x-goog-user-project");
        if let Some(project) = quota_project {
            if !request.headers.contains_key(&quota) {
                if let Ok(value) = HeaderValue::from_str(project) {
                    request.headers.insert(quota, value);
                }
            }
        }
        let header = Secret::new(format!("Bearer {}", token.expose()));
        request.secrets.push(token);
        request.set_secret_header(AUTHORIZATION, &header)
    }
}

impl Authorize for GoogleAuth {
    fn authorize<'a>(
        &'a self,
        request: &'a mut HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(self.apply(request))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(refresh_token: &str, token_uri: &str) -> Credential {
        let map = json!({"type": "authorized_user", "client_id": "c-1", "client_secret": "s-1",
                         "refresh_token": refresh_token, "token_uri": token_uri});
        credentials::from_map(map.as_object().expect("map")).expect("credential")
    }

    #[test]
    fn clients_with_one_credential_share_one_token_source() {
        let caches = CredentialCaches::default();
        let uri = "https://oauth.example/token";
        let a = TokenSource::shared(&caches, Some(user("r-1", uri)));
        let b = TokenSource::shared(&caches, Some(user("r-1", uri)));
        assert!(Arc::ptr_eq(&a, &b));
        // Another secret or another token endpoint is another credential.
        for other in [user("r-2", uri), user("r-1", "https://other.example/token")] {
            assert!(!Arc::ptr_eq(&a, &TokenSource::shared(&caches, Some(other))));
        }
        // Every client that relies on discovery shares one.
        let found = TokenSource::shared(&caches, None);
        assert!(Arc::ptr_eq(&found, &TokenSource::shared(&caches, None)));
        assert!(!Arc::ptr_eq(&found, &a));
        assert_eq!(caches.google.live(), 1);
        drop((a, b));
        assert_eq!(caches.google.live(), 0);
    }
}
