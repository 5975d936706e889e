//! The authorization step of an attempt: the last thing done to a request
//! before it is sent, so a signature covers its final bytes.
//!
//! It runs inside the attempt, so the call's cancellation and timeouts cover
//! it and its failure is recorded as an `:auth` attempt that a fallback can
//! move past. API keys are read from the environment here, when each call is
//! made. Credentials that need work — an OAuth token from a service
//! account, AWS credentials and SigV4 — implement [`Authorize`]; their caches
//! live in [`CredentialCaches`], one per credential identity, shared by every
//! client of a registry that has that identity and by the registries rebuilt
//! or reloaded from it.

pub mod aws;
mod cache;
pub mod google;
pub mod http;

pub use cache::{CachedCredential, Expiring};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use ::http::header::HeaderName;

use crate::error::{Error, ErrorKind};
use crate::secret::Secret;
use crate::weak_map::WeakMap;
use crate::wire::HttpRequest;

/// The credential caches of a registry and of every registry derived from
/// it: one per credential identity (a Google credential, an AWS chain's
/// profile and region), so clients that share a credential make one fetch
/// and one refresh, and a rejection seen by one is seen by all. Keyed by
/// what identifies a credential, never by its secrets. A configured
/// credential's cache lives while a client of a live registry uses it; the
/// defaults (Google's discovery, the AWS chain without profile or region:
/// one of each, and all a shorthand client can use) live as long as the
/// store, so shorthand clients built for a single call still share them.
#[derive(Debug, Default)]
pub struct CredentialCaches {
    pub(crate) google: WeakMap<google::Fingerprint, google::TokenSource>,
    pub(crate) google_discovered: OnceLock<Arc<google::TokenSource>>,
    pub(crate) aws: WeakMap<aws::ChainIdentity, aws::ChainCache>,
    pub(crate) aws_default_chain: OnceLock<Arc<aws::ChainCache>>,
}

/// Where a key comes from.
#[derive(Clone, PartialEq)]
pub enum KeySource {
    Literal(Secret),
    /// Read from the environment when each call is made.
    Env(&'static str),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Literal(_) => f.write_str("Literal([REDACTED])"),
            KeySource::Env(var) => write!(f, "Env({var})"),
        }
    }
}

impl KeySource {
    /// The key, or an `:auth` error naming the missing variable.
    pub fn resolve(&self) -> Result<Secret, Error> {
        match self {
            KeySource::Literal(k) => Ok(k.clone()),
            KeySource::Env(var) => {
                let key = crate::env::var(var).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Auth,
                        format!("no API key: the environment variable {var} is not set"),
                    )
                })?;
                // Checked as a literal key is at build time: sent as it is,
                // a server's echo of the mangled bytes would show the key.
                match crate::config::bounds::first_bad_credential_byte(&key) {
                    None => Ok(Secret::new(key)),
                    Some(at) => Err(Error::new(
                        ErrorKind::Auth,
                        format!(
                            "the environment variable {var} holds a character that cannot travel in \
                             an HTTP header (a space, a control character or non-ASCII, at byte {at} \
                             of {}); its value is not shown",
                            key.len()
                        ),
                    )),
                }
            }
        }
    }
}

/// An asynchronous authorization: fetch or refresh a credential (once for
/// all concurrent calls), then set headers or sign. Errors should be
/// `:auth` unless a more precise kind applies.
pub trait Authorize: Send + Sync + fmt::Debug {
    fn authorize<'a>(
        &'a self,
        request: &'a mut HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
}

/// How a client's requests are authorized.
#[derive(Debug, Clone)]
pub enum Authorization {
    /// No credential (e.g. a local Ollama).
    None,
    /// `name: {prefix}{key}`, e.g. `authorization: Bearer sk-...` or
    /// `x-api-key: sk-...`.
    Header {
        name: HeaderName,
        prefix: &'static str,
        key: KeySource,
    },
    /// `?name=key` (Vertex express mode). Redacted in its URL-encoded form too.
    Query { name: &'static str, key: KeySource },
    /// Anything that needs I/O or signs the request.
    Custom(Arc<dyn Authorize>),
}

impl Authorization {
    /// A bearer token header: `authorization: Bearer <key>`.
    pub fn bearer(key: KeySource) -> Self {
        Authorization::Header {
            name: ::http::header::AUTHORIZATION,
            prefix: "Bearer ",
            key,
        }
    }

    /// Authorizes `request`. Only [`Authorization::Custom`] suspends.
    pub async fn apply(&self, request: &mut HttpRequest) -> Result<(), Error> {
        match self {
            Authorization::None => Ok(()),
            // A credential the user set in `headers:` wins over the key.
            Authorization::Header { name, .. } if request.headers.contains_key(name) => Ok(()),
            Authorization::Header { name, prefix, key } => {
                let key = key.resolve()?;
                let value = Secret::new(format!("{prefix}{}", key.expose()));
                request.secrets.push(key);
                request.set_secret_header(name.clone(), &value)
            }
            Authorization::Query { name, key } => {
                let key = key.resolve()?;
                request
                    .url
                    .query_pairs_mut()
                    .append_pair(name, key.expose());
                request.secrets.push(key);
                Ok(())
            }
            Authorization::Custom(authorizer) => authorizer.authorize(request).await,
        }
    }
}
