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
//! they may be set after the registry is built. The first source that
//! yields a token is kept for the client's lifetime; until then, every
//! fetch looks again. The token is cached in the client (so in the registry
//! handle) and fetched once for all the calls that need it at the same
//! moment; it is refreshed 3 min 45 s before it expires (as google-auth
//! does) or halfway through a shorter lifetime. A failed fetch is an
//! `:auth` error of that attempt and is not cached.

pub mod credentials;
pub mod jwt;
pub mod token;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};

use super::{Authorize, CachedCredential, Expiring};
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;
use crate::wire::HttpRequest;
pub use credentials::Credential;

/// A request path's project segment before the project is known: it comes
/// from the credentials, found at the first call. Not a valid project ID,
/// so it can never be confused with one.
pub const PROJECT_PENDING: &str = "_pending_";

/// How long before expiry a token is refreshed (google-auth's threshold).
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(225);

/// Where a client's tokens come from, once found.
#[derive(Debug)]
enum Source {
    Credential {
        credential: Arc<Credential>,
        /// Which option, variable or file it came from, for errors.
        origin: String,
    },
    Metadata {
        host: String,
    },
}

/// A source and the project the client's requests go to.
#[derive(Debug)]
struct Resolved {
    source: Source,
    project: String,
}

/// The OAuth authorizer of one `vertex-ai` client.
pub struct GoogleAuth {
    /// The `credentials` option, parsed when the registry was built.
    configured: Option<Arc<Credential>>,
    /// The `project_id` option.
    project: Option<String>,
    resolved: Mutex<Option<Arc<Resolved>>>,
    token: CachedCredential<Secret>,
}

impl fmt::Debug for GoogleAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleAuth")
            .field("configured", &self.configured.is_some())
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl GoogleAuth {
    pub fn new(configured: Option<Credential>, project: Option<String>) -> Self {
        GoogleAuth {
            configured: configured.map(Arc::new),
            project,
            resolved: Mutex::new(None),
            token: CachedCredential::new(Duration::ZERO),
        }
    }

    /// Forgets the cached token, e.g. after the API said it is not valid:
    /// the next attempt fetches a new one.
    pub fn invalidate(&self) {
        self.token.invalidate();
    }

    fn resolved(&self) -> Option<Arc<Resolved>> {
        self.resolved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The cached token, or a new one; concurrent callers share one fetch.
    async fn token(&self) -> Result<(Secret, Arc<Resolved>), Error> {
        let token = self
            .token
            .get(|| async {
                let resolved = match self.resolved() {
                    Some(r) => r,
                    None => Arc::new(self.resolve().await?),
                };
                let fetched = fetch(&resolved.source).await?;
                *self
                    .resolved
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(resolved);
                let early = REFRESH_BEFORE_EXPIRY.min(fetched.lifetime / 2);
                Ok(Expiring::for_duration(
                    fetched.token,
                    fetched.lifetime - early,
                ))
            })
            .await?;
        let resolved = self
            .resolved()
            .ok_or_else(|| Error::new(ErrorKind::Auth, "Google credentials were forgotten"))?;
        Ok((token, resolved))
    }

    /// Finds the source, in the order of the module's doc, and the project.
    async fn resolve(&self) -> Result<Resolved, Error> {
        let (source, mut tried) = match &self.configured {
            Some(c) => (
                Source::Credential {
                    credential: c.clone(),
                    origin: "the credentials option".into(),
                },
                Vec::new(),
            ),
            None => find_source()?,
        };
        let from_credential = match &source {
            Source::Credential { credential, .. } => credential.project_id().map(str::to_owned),
            Source::Metadata { .. } => None,
        };
        let mut project = self.project.clone().or(from_credential);
        if let (None, Source::Metadata { host }) = (&project, &source) {
            match token::metadata_project(host).await {
                Ok(p) => project = Some(p),
                Err(e) => tried.push(e.message),
            }
        }
        let project = project
            .or_else(|| crate::env::var("GOOGLE_CLOUD_PROJECT"))
            .ok_or_else(|| {
                let mut message = "vertex-ai needs a project ID: set the project_id option, use \
                     a service account key that has a project_id, or set GOOGLE_CLOUD_PROJECT"
                    .to_owned();
                if !tried.is_empty() {
                    message.push_str(&format!(" ({})", tried.join("; ")));
                }
                Error::new(ErrorKind::Auth, message)
            })?;
        check_project(&project).map_err(|e| Error::new(ErrorKind::Auth, e))?;
        Ok(Resolved { source, project })
    }
}

/// The first of `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file and the
/// metadata server; with what was looked at before it, for errors.
fn find_source() -> Result<(Source, Vec<String>), Error> {
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
                Some(source) => Ok((source, tried)),
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
            Some(source) => return Ok((source, tried)),
            None => tried.push(format!("{} does not exist", path.display())),
        }
    }
    Ok((
        Source::Metadata {
            host: token::metadata_host(),
        },
        tried,
    ))
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
        Source::Metadata { host } => token::metadata(host).await.map_err(|e| Error {
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
        let pending = format!("/projects/{PROJECT_PENDING}/");
        // A token the user set in `headers:` wins, as keys do elsewhere.
        if request.headers.contains_key(AUTHORIZATION) {
            if request.url.path().contains(&pending) {
                return Err(Error::new(
                    ErrorKind::Auth,
                    "vertex-ai with an authorization header needs the project_id option",
                ));
            }
            return Ok(());
        }
        let (token, resolved) = self.token().await?;
        if request.url.path().contains(&pending) {
            let path = request.url.path().replacen(
                &pending,
                &format!("/projects/{}/", resolved.project),
                1,
            );
            request.url.set_path(&path);
        }
        if let Source::Credential { credential, .. } = &resolved.source {
            if let Credential::AuthorizedUser(user) = credential.as_ref() {
                let quota = HeaderName::from_static("x-goog-user-project");
                if let Some(project) = &user.quota_project_id {
                    if !request.headers.contains_key(&quota) {
                        if let Ok(value) = HeaderValue::from_str(project) {
                            request.headers.insert(quota, value);
                        }
                    }
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
