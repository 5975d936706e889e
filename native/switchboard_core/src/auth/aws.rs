//! AWS credentials, regions and Signature Version 4.
//!
//! Credentials are explicit keys, or come from the AWS SDK's own default
//! chain (`aws-config`): environment variables, the shared config and
//! credentials files (with `credential_process` and SSO), web identity,
//! container (ECS) and instance metadata (IMDSv2). The chain is built on a
//! client's first call, not when its registry is built, and reads the
//! emulator's environment (so `System.put_env/2` works) through a snapshot of
//! every variable it knows, taken then. Its network sources (STS, SSO, ECS,
//! IMDS) go through reqwest, like switchboard's other credential requests.
//!
//! The chain and its credentials are cached per [`ChainIdentity`] (the
//! `profile` and `region` options) in the registry's [`CredentialCaches`],
//! so every client with the same settings shares them, across rebuilds and
//! reloads too, and refreshed once for all concurrent calls
//! ([`CachedCredential`]) a margin before they expire. When Bedrock rejects
//! them, the credentials and the chain are dropped for every client sharing
//! them: the next call builds the chain again from the environment as it is
//! then (rotated keys, a new `AWS_PROFILE`). Explicit keys need no cache.
//!
//! The chain reads the profile files and the web-identity token with
//! blocking file reads, as the AWS SDK does, on the runtime's thread; they
//! are small local files, read when credentials are refreshed, not per call.
//!
//! Signing uses the SDK's signer (`aws-sigv4`) over the request exactly as
//! it will be sent: method, URL, headers and body bytes.

mod http_client;
mod process;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;
use http::header::{HeaderName, HeaderValue};
use tokio::time::Instant;

use super::{CachedCredential, CredentialCaches, Expiring};
use crate::error::{Error, ErrorKind};
use crate::secret::{Secret, Secrets};
use crate::wire::HttpRequest;

/// Refresh credentials this long before they expire (at most half their
/// lifetime, so short-lived ones are still reused).
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Every environment variable `aws-config` and the STS / SSO clients it
/// builds read (from their sources; `AWS_ENDPOINT_URL_<SERVICE>` for the
/// services the chain calls), plus the home directory variables the profile
/// files are found with.
const CHAIN_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCOUNT_ID",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_SDK_UA_APP_ID",
    "AWS_DISABLE_REQUEST_COMPRESSION",
    "AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES",
    "AWS_DISABLE_CLOCK_SKEW_CORRECTION",
    "AWS_REQUEST_CHECKSUM_CALCULATION",
    "AWS_RESPONSE_CHECKSUM_VALIDATION",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE",
    "AWS_AUTH_SCHEME_PREFERENCE",
    "AWS_SIGV4A_SIGNING_REGION_SET",
    "AWS_LOGIN_CACHE_DIRECTORY",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_EXECUTION_ENV",
    "HOME",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
];

/// Variables holding credentials, left out when a profile is named
/// explicitly: the profile's own credentials are wanted then.
const CREDENTIAL_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Resolved credentials, ready to sign with. Cheap to clone.
#[derive(Clone)]
pub struct AwsCredentials {
    identity: Identity,
    /// The secret key and session token, to redact from answers.
    secrets: Secrets,
    expiry: Option<SystemTime>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    pub fn new(
        access_key_id: &str,
        secret_access_key: &Secret,
        session_token: Option<&Secret>,
    ) -> Self {
        Self::from_sdk(Credentials::new(
            access_key_id,
            secret_access_key.expose(),
            session_token.map(|t| t.expose().to_owned()),
            None,
            "switchboard",
        ))
    }

    fn from_sdk(credentials: Credentials) -> Self {
        let mut secrets = Secrets::default();
        secrets.push(Secret::new(credentials.secret_access_key()));
        if let Some(token) = credentials.session_token() {
            secrets.push(Secret::new(token));
        }
        AwsCredentials {
            expiry: credentials.expiry(),
            identity: credentials.into(),
            secrets,
        }
    }

    /// When the cache should stop handing these out.
    fn cache_until(&self) -> Option<Instant> {
        self.cache_until_from(SystemTime::now(), Instant::now())
    }

    /// [`Self::cache_until`] as seen at `wall` (the clock the expiry is
    /// given in), which is `now` on the runtime's clock.
    fn cache_until_from(&self, wall: SystemTime, now: Instant) -> Option<Instant> {
        let lifetime = self.expiry?.duration_since(wall).unwrap_or(Duration::ZERO);
        Some(now + lifetime - REFRESH_MARGIN.min(lifetime / 2))
    }
}

/// Where a client's AWS credentials come from.
#[derive(Debug)]
pub enum CredentialSource {
    /// `access_key_id` / `secret_access_key` (/ `session_token`) options.
    Static(AwsCredentials),
    /// The AWS SDK's default chain; `profile` when one is named.
    Chain { profile: Option<String> },
}

/// Which chain a client's credentials come from: clients with the same
/// profile and region options share one [`ChainCache`]. (The chain's other
/// settings come from the environment, which every client sees alike.)
/// Without either option, the chain is the store's default one.
#[derive(PartialEq, Eq, Hash)]
pub struct ChainIdentity {
    profile: Option<String>,
    region: Option<String>,
}

/// The chain and the credentials it gave, built and fetched on the first
/// call that needs them.
#[derive(Debug)]
pub struct ChainCache {
    /// Built once, kept until credentials are rejected (no expiry).
    loaded: CachedCredential<Arc<Loaded>>,
    credentials: CachedCredential<AwsCredentials>,
}

impl ChainCache {
    fn new() -> Self {
        ChainCache {
            loaded: CachedCredential::new(Duration::ZERO),
            credentials: CachedCredential::new(Duration::ZERO),
        }
    }
}

/// What a client knows of AWS: its credential source, and the chain and
/// credentials once a call needed them.
pub struct AwsAuth {
    /// Names the client in errors.
    ctx: String,
    source: CredentialSource,
    region_option: Option<String>,
    /// Shared by the clients with the same [`ChainIdentity`]; with static
    /// keys, the client's own (it only holds the profile's region).
    cache: Arc<ChainCache>,
}

impl fmt::Debug for AwsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsAuth")
            .field("source", &self.source)
            .field("region", &self.region_option)
            .finish_non_exhaustive()
    }
}

/// The chain's state, built on the first call that needs it.
struct Loaded {
    /// The selected profile's `region`.
    profile_region: Option<String>,
    /// `None` with static credentials: there is no chain to ask.
    chain: Option<SharedCredentialsProvider>,
}

impl AwsAuth {
    /// A client's AWS side; a chain source takes its cache from `caches`.
    pub fn new(
        ctx: String,
        source: CredentialSource,
        region: Option<String>,
        caches: &CredentialCaches,
    ) -> Result<Self, Error> {
        if let Some(region) = &region {
            check_region(region)
                .map_err(|why| Error::config(format!("{ctx}: option \"region\" {why}")))?;
        }
        let cache = match &source {
            CredentialSource::Static(_) => Arc::new(ChainCache::new()),
            CredentialSource::Chain { profile: None } if region.is_none() => caches
                .aws_default_chain
                .get_or_init(|| Arc::new(ChainCache::new()))
                .clone(),
            CredentialSource::Chain { profile } => {
                let identity = ChainIdentity {
                    profile: profile.clone(),
                    region: region.clone(),
                };
                caches.aws.get_or_insert_with(identity, ChainCache::new)
            }
        };
        Ok(AwsAuth {
            ctx,
            source,
            region_option: region,
            cache,
        })
    }

    pub fn source(&self) -> &CredentialSource {
        &self.source
    }

    /// The region known without any I/O: the `region` option, else
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub fn region_now(&self) -> Result<Option<String>, Error> {
        let region = self
            .region_option
            .clone()
            .or_else(|| crate::env::var("AWS_REGION"))
            .or_else(|| crate::env::var("AWS_DEFAULT_REGION"));
        match region {
            Some(r) => {
                check_region(&r)
                    .map_err(|why| Error::config(format!("{}: the AWS region {why}", self.ctx)))?;
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// The region: [`Self::region_now`], else the selected profile's
    /// `region`; a `:config` error naming every place looked in otherwise.
    pub async fn region(&self) -> Result<String, Error> {
        if let Some(region) = self.region_now()? {
            return Ok(region);
        }
        let loaded = self.loaded().await?;
        match &loaded.profile_region {
            Some(region) => {
                check_region(region).map_err(|why| {
                    Error::config(format!("{}: the AWS profile's region {why}", self.ctx))
                })?;
                Ok(region.clone())
            }
            None => Err(Error::config(format!(
                "{}: no AWS region: set the \"region\" option, AWS_REGION or AWS_DEFAULT_REGION, \
                 or a region in the AWS profile{}",
                self.ctx,
                self.profile_shown()
            ))),
        }
    }

    fn profile_shown(&self) -> String {
        match &self.source {
            CredentialSource::Chain {
                profile: Some(profile),
            } => format!(" ({profile:?})"),
            _ => match crate::env::var("AWS_PROFILE") {
                Some(profile) => format!(" ({profile:?}, from AWS_PROFILE)"),
                None => " (\"default\")".to_owned(),
            },
        }
    }

    /// Credentials to sign with: the static ones, or the chain's, cached
    /// and fetched once for all concurrent calls.
    pub async fn credentials(&self) -> Result<AwsCredentials, Error> {
        if let CredentialSource::Static(credentials) = &self.source {
            return Ok(credentials.clone());
        }
        self.cache
            .credentials
            .get(|| async {
                let loaded = self.loaded().await?;
                let Some(chain) = &loaded.chain else {
                    return Err(Error::new(ErrorKind::Auth, "no AWS credential chain"));
                };
                let credentials = chain.provide_credentials().await.map_err(|e| {
                    Error::new(
                        ErrorKind::Auth,
                        format!(
                            "{}: no AWS credentials from the default chain (environment, profile{}, \
                             web identity, container, instance metadata): {}",
                            self.ctx,
                            self.profile_shown(),
                            DisplayErrorContext(&e)
                        ),
                    )
                })?;
                let credentials = AwsCredentials::from_sdk(credentials);
                Ok(Expiring {
                    expires_at: credentials.cache_until(),
                    value: credentials,
                })
            })
            .await
    }

    async fn loaded(&self) -> Result<Arc<Loaded>, Error> {
        self.cache
            .loaded
            .get(|| async {
                Ok(Expiring {
                    value: Arc::new(self.load().await?),
                    expires_at: None,
                })
            })
            .await
    }

    /// Forgets the chain's credentials and the chain itself, for every
    /// client sharing them, after the server rejected a signature made with
    /// them; static keys stay.
    pub fn invalidate(&self) {
        if let CredentialSource::Chain { .. } = self.source {
            self.cache.credentials.invalidate();
            self.cache.loaded.invalidate();
        }
    }

    /// Reads the profile files and builds the default chain, with the
    /// emulator's environment as it is now.
    async fn load(&self) -> Result<Loaded, Error> {
        let explicit_profile = match &self.source {
            CredentialSource::Chain { profile } => profile.clone(),
            CredentialSource::Static(_) => None,
        };
        let env = snapshot_env(explicit_profile.is_some());
        let fs = Fs::real();
        let profiles = aws_config::profile::load(
            &fs,
            &env,
            &Default::default(),
            explicit_profile.clone().map(Into::into),
        )
        .await;
        let profile_region = match (&profiles, &explicit_profile) {
            (Ok(set), Some(name)) if set.get_profile(name).is_none() => {
                return Err(Error::config(format!(
                    "{}: AWS profile {name:?} not found in the shared config or credentials file",
                    self.ctx
                )));
            }
            (Err(e), Some(name)) => {
                return Err(Error::config(format!(
                    "{}: cannot read AWS profile {name:?}: {}",
                    self.ctx,
                    DisplayErrorContext(e)
                )));
            }
            (Ok(set), _) => set.get("region").map(str::to_owned),
            // No profile files at all is fine without an explicit profile.
            (Err(_), None) => None,
        };
        // A profile's credential_process is run here, so that a cancelled
        // call kills it (see process.rs); every other source is the SDK's.
        let process = match &profiles {
            Ok(set) => {
                process::CredentialProcess::for_profile(set, env.get("AWS_ACCESS_KEY_ID").is_ok())
            }
            Err(_) => None,
        };
        let chain = match &self.source {
            CredentialSource::Static(_) => None,
            CredentialSource::Chain { .. } if process.is_some() => {
                process.map(SharedCredentialsProvider::new)
            }
            CredentialSource::Chain { profile } => {
                let region = self
                    .region_now()?
                    .or_else(|| profile_region.clone())
                    .map(Region::new);
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .env(env)
                    .fs(fs)
                    .http_client(http_client::ReqwestHttpClient::default())
                    // Given, so the region chain never asks instance metadata.
                    .region(region);
                if let Some(profile) = profile {
                    loader = loader.profile_name(profile);
                }
                let config = loader.load().await;
                Some(config.credentials_provider().ok_or_else(|| {
                    Error::new(ErrorKind::Auth, "the AWS SDK built no credential chain")
                })?)
            }
        };
        Ok(Loaded {
            profile_region,
            chain,
        })
    }
}

/// The emulator's values of every variable the chain reads.
fn snapshot_env(without_credentials: bool) -> Env {
    let vars: HashMap<String, String> = CHAIN_VARIABLES
        .iter()
        .filter(|name| !(without_credentials && CREDENTIAL_VARIABLES.contains(name)))
        .filter_map(|name| crate::env::var(name).map(|v| ((*name).to_owned(), v)))
        .collect();
    Env::from(vars)
}

/// A region goes into a host name: letters, digits and dashes only.
fn check_region(region: &str) -> Result<(), &'static str> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("must hold only letters, digits and '-'")
    }
}

/// When `true` (in any case, as the SDKs read it), the endpoint variables
/// are not read.
const IGNORE_ENDPOINT_VARIABLES: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";
/// Every service's endpoint, unless its own variable is set.
const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL";

/// The endpoint the AWS SDKs take from the environment for a service: its
/// own variable (`AWS_ENDPOINT_URL_<SERVICE ID>`), else `AWS_ENDPOINT_URL`;
/// neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true. An endpoint
/// set on the client wins over both, as in the SDKs. Read through
/// [`crate::env`] when each call is made; without a trailing slash.
pub fn configured_endpoint(service_variable: &str) -> Result<Option<String>, Error> {
    endpoint_from(service_variable, crate::env::var)
}

/// [`configured_endpoint`] with the environment `var` reads.
fn endpoint_from(
    service_variable: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, Error> {
    let ignored = var(IGNORE_ENDPOINT_VARIABLES).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if ignored {
        return Ok(None);
    }
    for variable in [service_variable, ENDPOINT_VARIABLE] {
        if let Some(url) = var(variable) {
            let parsed = url::Url::parse(url.trim()).ok();
            if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
                // The value is not shown: a URL may carry a password.
                return Err(Error::config(format!(
                    "the environment variable {variable} must be an http or https URL"
                )));
            }
            return Ok(Some(url.trim().trim_end_matches('/').to_owned()));
        }
    }
    Ok(None)
}

/// Signs `request` in place with SigV4 for `service` in `region` at
/// `time`: adds `x-amz-date`, `authorization` and, with a session token,
/// `x-amz-security-token`, over the request's method, URL, headers and body
/// exactly as they are. The secrets are added to `request.secrets`.
pub fn sign_request(
    request: &mut HttpRequest,
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), Error> {
    sign_with(
        request,
        credentials,
        region,
        service,
        time,
        SigningSettings::default(),
    )
}

/// [`sign_request`] with explicit signer settings (tests and test vectors).
pub fn sign_with(
    request: &mut HttpRequest,
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<(), Error> {
    let failed =
        |what: String| Error::new(ErrorKind::Auth, format!("cannot sign the request: {what}"));
    let params = v4::SigningParams::builder()
        .identity(&credentials.identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| failed(e.to_string()))?
        .into();
    let mut headers = Vec::with_capacity(request.headers.len());
    for (name, value) in &request.headers {
        let value = value.to_str().map_err(|_| {
            Error::invalid_request(format!(
                "header {name} has a value that cannot be signed (not visible ASCII)"
            ))
        })?;
        headers.push((name.as_str(), value));
    }
    let signable = SignableRequest::new(
        request.method.as_str(),
        request.url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| failed(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| failed(e.to_string()))?
        .into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for header in new_headers {
        let mut value = HeaderValue::from_str(header.value())
            .map_err(|_| failed(format!("header {} is not a valid value", header.name())))?;
        let name = HeaderName::from_static(header.name());
        if header.sensitive() || name == http::header::AUTHORIZATION {
            value.set_sensitive(true);
        }
        request.headers.insert(name, value);
    }
    request.secrets.extend(&credentials.secrets);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn request(url: &str) -> HttpRequest {
        HttpRequest::post_json(url.parse().expect("url"), &Map::new()).expect("request")
    }

    #[test]
    fn signs_with_and_without_a_session_token() {
        let secret = Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut plain =
            request("https://bedrock-runtime.us-east-1.amazonaws.com/model/m%3A0/converse");
        let creds = AwsCredentials::new("AKIDEXAMPLE", &secret, None);
        sign_request(&mut plain, &creds, "us-east-1", "bedrock", time).expect("signed");
        let auth = plain.headers["authorization"].to_str().expect("ascii");
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature="
            ),
            "{auth}"
        );
        assert_eq!(plain.headers["x-amz-date"], "20231114T221320Z");
        assert!(plain.headers["authorization"].is_sensitive());
        assert!(!plain.headers.contains_key("x-amz-security-token"));

        let token = Secret::new("session-token-123");
        let mut temp =
            request("https://bedrock-runtime.us-east-1.amazonaws.com/model/m%3A0/converse");
        let creds = AwsCredentials::new("AKIDEXAMPLE", &secret, Some(&token));
        sign_request(&mut temp, &creds, "us-east-1", "bedrock", time).expect("signed");
        let auth = temp.headers["authorization"].to_str().expect("ascii");
        assert!(
            auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"),
            "{auth}"
        );
        assert_eq!(temp.headers["x-amz-security-token"], "session-token-123");
        assert!(temp.headers["x-amz-security-token"].is_sensitive());
        assert_eq!(
            temp.secrets
                .redact("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY session-token-123"),
            "[REDACTED] [REDACTED]"
        );
        assert!(!format!("{creds:?}").contains("wJalr"));
    }

    #[test]
    fn endpoint_variables_take_the_sdks_precedence() {
        const OWN: &str = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";
        let endpoint = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            endpoint_from(OWN, |name| vars.get(name).cloned())
        };
        let own = (OWN, "http://127.0.0.1:9/own/");
        let global = ("AWS_ENDPOINT_URL", "https://global.example");
        assert_eq!(endpoint(&[]).unwrap(), None);
        assert_eq!(
            endpoint(&[global]).unwrap().as_deref(),
            Some("https://global.example")
        );
        assert_eq!(
            endpoint(&[global, own]).unwrap().as_deref(),
            Some("http://127.0.0.1:9/own")
        );
        for ignore in ["true", "TRUE", "True"] {
            let vars = [global, own, ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", ignore)];
            assert_eq!(endpoint(&vars).unwrap(), None, "{ignore}");
        }
        // Anything but true (the SDKs ignore a value they cannot read).
        let vars = [own, ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "no")];
        assert!(endpoint(&vars).unwrap().is_some());

        for bad in ["not a url", "ftp://x", "http://user:hunter22@", "/relative"] {
            let e = endpoint(&[(OWN, bad), global]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config);
            assert!(e.message.contains(OWN), "{}", e.message);
            assert!(!e.message.contains("hunter22"), "{}", e.message);
        }
        let e = endpoint(&[("AWS_ENDPOINT_URL", "nope")]).unwrap_err();
        assert!(e.message.contains("AWS_ENDPOINT_URL "), "{}", e.message);
    }

    #[test]
    fn chain_caches_are_shared_by_profile_and_region_and_static_keys_have_none() {
        let caches = CredentialCaches::default();
        let chain = |profile: Option<&str>, region: Option<&str>| {
            let source = CredentialSource::Chain {
                profile: profile.map(str::to_owned),
            };
            AwsAuth::new("c".into(), source, region.map(str::to_owned), &caches).unwrap()
        };
        let a = chain(None, Some("us-east-1"));
        let b = chain(None, Some("us-east-1"));
        assert!(Arc::ptr_eq(&a.cache, &b.cache));
        let others = [
            chain(None, None),
            chain(Some("dev"), Some("us-east-1")),
            chain(None, Some("eu-west-3")),
        ];
        for other in &others {
            assert!(!Arc::ptr_eq(&a.cache, &other.cache));
        }
        let secret = Secret::new("secret-key");
        let keys = CredentialSource::Static(AwsCredentials::new("AKID", &secret, None));
        let fixed = AwsAuth::new("c".into(), keys, Some("us-east-1".into()), &caches).unwrap();
        // The default chain (others[0]) is the store's own.
        assert_eq!(caches.aws.live(), 3);
        assert!(Arc::ptr_eq(&others[0].cache, &chain(None, None).cache));
        drop((a, b, others, fixed));
        assert_eq!(caches.aws.live(), 0);
    }

    #[test]
    fn regions_must_be_host_name_safe() {
        assert!(check_region("us-east-1").is_ok());
        for bad in ["", "us-east-1.evil.com", "a/b", "x y"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_lived_credentials_are_kept_for_half_their_life() {
        // Both clocks read once and passed in: exact, however slow the
        // machine running the test.
        let secret = Secret::new("secret-key");
        let mut c = AwsCredentials::new("AKID", &secret, None);
        let (wall, now) = (SystemTime::now(), Instant::now());
        assert!(c.cache_until_from(wall, now).is_none());
        let kept = |c: &AwsCredentials| c.cache_until_from(wall, now).expect("expires") - now;
        c.expiry = Some(wall + Duration::from_secs(60));
        assert_eq!(kept(&c), Duration::from_secs(30));
        c.expiry = Some(wall + Duration::from_secs(3600));
        assert_eq!(kept(&c), Duration::from_secs(3300));
        // Already expired: not kept at all.
        c.expiry = Some(wall - Duration::from_secs(1));
        assert_eq!(kept(&c), Duration::ZERO);
    }
}
