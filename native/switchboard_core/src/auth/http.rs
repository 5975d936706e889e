//! The HTTP client every credential source fetches with (OAuth token
//! endpoints, the GCE metadata server; the AWS chain's STS, SSO, container
//! and instance-metadata requests build theirs from [`builder`]): one per
//! process, separate from the providers' pools, with its own limits.
//!
//! A fetch runs inside a call's attempt, so the call's cancellation and
//! total timeout cut it short too; these limits bound it when the call has
//! none. Redirects are not followed (a token endpoint that redirects is
//! misconfigured, and following one would send credentials elsewhere),
//! and bodies are read up to [`MAX_BODY`].

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::error::{error_chain, Error, ErrorKind};

/// How long connecting to a credential endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting (name lookup included) to a link-local or loopback
/// service may take: the GCE metadata server answers a connect at once on
/// GCE, and off GCE, where `metadata.google.internal` does not resolve or
/// its address is not routed, the probe must fail in seconds, not wait
/// [`CONNECT_TIMEOUT`] (Google's own libraries give it 2 to 3 s).
pub const LOCAL_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one credential request may take, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest credential answer read; tokens are a few KB.
pub const MAX_BODY: usize = 64 * 1024;

/// Which of the two clients to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Public endpoints, through the environment's proxy if any.
    Internet,
    /// Link-local services (the GCE metadata server): never through a proxy.
    Local,
}

impl Route {
    /// How long connecting may take on this route.
    pub fn connect_timeout(self) -> Duration {
        match self {
            Route::Internet => CONNECT_TIMEOUT,
            Route::Local => LOCAL_CONNECT_TIMEOUT,
        }
    }

    /// `Local` for link-local and loopback hosts (instance metadata, ECS
    /// container credentials, a sidecar): a proxy must never see the
    /// tokens and keys those hand out. `host` as in a URL (IPv6 in brackets).
    pub fn for_host(host: &str) -> Route {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let local = match bare.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_link_local(),
            // fe80::/10, and the IPv6 addresses of EC2 instance metadata
            // (fd00:ec2::254) and the EKS Pod Identity agent (fd00:ec2::23).
            Ok(std::net::IpAddr::V6(ip)) => {
                let [a, b, c, d, e, f, g, _] = ip.segments();
                ip.is_loopback()
                    || a & 0xffc0 == 0xfe80
                    || ([a, b, c, d, e, f, g] == [0xfd00, 0xec2, 0, 0, 0, 0, 0]
                        && matches!(ip.segments()[7], 0x254 | 0x23))
            }
            Err(_) => bare.eq_ignore_ascii_case("localhost"),
        };
        if local {
            Route::Local
        } else {
            Route::Internet
        }
    }
}

/// What every credential client shares: no redirects (a credential
/// endpoint that redirects is misconfigured, and following it would send
/// credentials elsewhere), no retries of its own, no proxy for `Local`.
pub fn builder(route: Route) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")));
    match route {
        Route::Internet => builder,
        Route::Local => builder.no_proxy(),
    }
}

fn client(route: Route) -> Result<&'static reqwest::Client, Error> {
    static INTERNET: OnceLock<reqwest::Client> = OnceLock::new();
    static LOCAL: OnceLock<reqwest::Client> = OnceLock::new();
    let cell = match route {
        Route::Internet => &INTERNET,
        Route::Local => &LOCAL,
    };
    if let Some(c) = cell.get() {
        return Ok(c);
    }
    let built = builder(route)
        .connect_timeout(route.connect_timeout())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Auth,
                format!("cannot build the credential HTTP client: {e}"),
            )
        })?;
    Ok(cell.get_or_init(|| built))
}

/// A credential endpoint's answer: status and body (at most [`MAX_BODY`]).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request to a credential endpoint.
#[derive(Debug)]
pub struct Fetch<'a> {
    pub route: Route,
    pub method: reqwest::Method,
    pub url: &'a str,
    pub headers: HeaderMap,
    /// A form-encoded body (`application/x-www-form-urlencoded`), if any.
    pub form: Option<String>,
}

/// Sends `fetch` and reads its answer. Failures to get an answer at all are
/// `:auth` errors that say what was being fetched (`what`), never the body
/// sent, which carries credentials.
pub async fn send(fetch: Fetch<'_>, what: &str) -> Result<Answer, Error> {
    let route = fetch.route;
    let failed = |e: reqwest::Error| {
        let e = e.without_url();
        let why = if e.is_connect() && e.is_timeout() {
            format!(
                "no connection within {} ms",
                route.connect_timeout().as_millis()
            )
        } else if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            format!("cannot connect ({})", error_chain(&e))
        } else {
            error_chain(&e)
        };
        Error::new(ErrorKind::Auth, format!("{what} failed: {why}"))
    };
    let mut builder = client(fetch.route)?
        .request(fetch.method, fetch.url)
        .headers(fetch.headers);
    if let Some(form) = fetch.form {
        builder = builder
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
    }
    let mut response = builder.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(piece) = response.chunk().await.map_err(failed)? {
        let room = MAX_BODY - body.len();
        body.extend_from_slice(&piece[..piece.len().min(room)]);
        if body.len() == MAX_BODY {
            break;
        }
    }
    Ok(Answer {
        status,
        body: body.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn metadata_and_loopback_hosts_bypass_proxies() {
        for host in [
            "169.254.169.254",
            "169.254.170.2",
            "[fd00:ec2::254]",
            "[fd00:ec2::23]",
            "169.254.170.23",
            "127.0.0.1",
            "[::1]",
            "localhost",
        ] {
            assert_eq!(Route::for_host(host), Route::Local, "{host}");
        }
        for host in [
            "sts.amazonaws.com",
            "10.0.0.1",
            "[2001:db8::1]",
            "oauth2.googleapis.com",
        ] {
            assert_eq!(Route::for_host(host), Route::Internet, "{host}");
        }
    }
}
