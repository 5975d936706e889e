//! A client's `media_url_handler` applied to one attempt's prompt: media
//! URLs kept, given a media type, or fetched and inlined (see
//! [`crate::media`]).
//!
//! The fetch runs inside the attempt, so it is counted in the attempt's
//! and the call's deadlines and dropped with the call; it goes through the
//! engine's own transport (proxies, TLS roots and pools as for providers).
//! What was fetched is kept for the rest of the call: a retry or a later
//! client of a fallback reuses it rather than fetching it again. A failed
//! fetch is the attempt's error, so retries and fallbacks apply to it.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::BytesMut;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Method};
use url::Url;

use super::transport;
use crate::config::{HttpSettings, Leaf};
use crate::error::{Error, ErrorKind};
use crate::media::{shown_url, MediaKind, Mode};
use crate::prompt::{Content, Inline, Media, MediaUrl, Message, Part};
use crate::secret::Secrets;
use crate::wire::HttpRequest;

/// The largest media body fetched.
pub const MAX_MEDIA_BYTES: usize = 20 * 1024 * 1024;

/// Redirects followed per fetch (http and https only).
const MAX_REDIRECTS: usize = 5;

/// A fetched body, base64-encoded, and its `Content-Type` (parameters
/// stripped) when the server sent a useful one.
#[derive(Debug)]
pub struct Fetched {
    pub data: String,
    pub content_type: Option<String>,
}

/// What a call fetched, by URL, for its later attempts. Attempts run one
/// at a time, so two never fetch the same URL at once.
#[derive(Default)]
pub struct MediaCache(Mutex<Vec<(String, Arc<Fetched>)>>);

impl MediaCache {
    fn get(&self, url: &str) -> Option<Arc<Fetched>> {
        self.lock()
            .iter()
            .find(|(u, _)| u == url)
            .map(|(_, f)| f.clone())
    }

    fn put(&self, url: &str, fetched: Arc<Fetched>) {
        self.lock().push((url.to_owned(), fetched));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Arc<Fetched>)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether any message has a media part by URL (most prompts have none,
/// and then nothing is copied or awaited).
pub fn has_media_urls(messages: &[Message]) -> bool {
    messages.iter().any(|m| media_urls(m).next().is_some())
}

/// A message's media parts by URL, with the kind that governs each.
fn media_urls(message: &Message) -> impl Iterator<Item = (MediaKind, &MediaUrl)> {
    let parts = match &message.content {
        Content::Parts(parts) => parts.as_slice(),
        Content::Text(_) => &[],
    };
    parts.iter().filter_map(|part| match part {
        Part::Image(Media::Url(url)) => Some((MediaKind::Image, url)),
        Part::Document(Media::Url(url)) => Some((MediaKind::Pdf, url)),
        _ => None,
    })
}

/// Fetches into the call's cache every media URL whose bytes or type the
/// leaf's handler needs, before the attempt is admitted (see
/// `Exchange::prepare`); [`resolve`] then finds them there.
pub async fn prefetch(leaf: &Leaf, cache: &MediaCache, messages: &[Message]) -> Result<(), Error> {
    for (kind, url) in messages.iter().flat_map(media_urls) {
        let needed = match leaf.media.mode(kind) {
            Mode::SendUrl => false,
            Mode::SendUrlAddMimeType => url.media_type().is_none(),
            Mode::SendBase64UnlessGoogleUrl => !url.is_google(),
            Mode::SendBase64 => true,
        };
        if needed {
            fetch(leaf, cache, kind, &url.url).await?;
        }
    }
    Ok(())
}

/// The prompt with the leaf's handler applied to every media URL.
pub async fn resolve<'m>(
    leaf: &Leaf,
    cache: &MediaCache,
    messages: Cow<'m, [Message]>,
) -> Result<Cow<'m, [Message]>, Error> {
    let mut messages = messages.into_owned();
    for message in &mut messages {
        let Content::Parts(parts) = &mut message.content else {
            continue;
        };
        for part in parts.iter_mut() {
            let (kind, media) = match part {
                Part::Image(media) => (MediaKind::Image, media),
                Part::Document(media) => (MediaKind::Pdf, media),
                Part::Text(_) => continue,
            };
            let Media::Url(url) = media else { continue };
            if let Some(resolved) = apply(leaf, cache, kind, leaf.media.mode(kind), url).await? {
                *media = resolved;
            }
        }
    }
    Ok(Cow::Owned(messages))
}

/// One URL under `mode`: `None` keeps it as it is.
async fn apply(
    leaf: &Leaf,
    cache: &MediaCache,
    kind: MediaKind,
    mode: Mode,
    url: &MediaUrl,
) -> Result<Option<Media>, Error> {
    match mode {
        Mode::SendUrl => Ok(None),
        Mode::SendBase64UnlessGoogleUrl if url.is_google() => Ok(None),
        Mode::SendUrlAddMimeType => {
            if let Some(known) = url.media_type() {
                return Ok(Some(Media::Url(MediaUrl {
                    url: url.url.clone(),
                    media_type: Some(known.to_owned()),
                })));
            }
            let fetched = fetch(leaf, cache, kind, &url.url).await?;
            match &fetched.content_type {
                Some(found) => Ok(Some(Media::Url(MediaUrl {
                    url: url.url.clone(),
                    media_type: Some(found.clone()),
                }))),
                None => Err(Error::invalid_request(format!(
                    "the {} at {} has no known media type (none on the part, none from its \
                     extension, none in its Content-Type): give the part a :media_type",
                    kind.noun(),
                    shown_url(&url.url)
                ))),
            }
        }
        Mode::SendBase64 | Mode::SendBase64UnlessGoogleUrl => {
            let fetched = fetch(leaf, cache, kind, &url.url).await?;
            let media_type = url
                .media_type
                .clone()
                .or_else(|| fetched.content_type.clone())
                .or_else(|| crate::media::type_from_extension(&url.url).map(str::to_owned))
                .or_else(|| (kind == MediaKind::Pdf).then(|| "application/pdf".to_owned()))
                .ok_or_else(|| {
                    Error::invalid_request(format!(
                        "the {} at {} has no known media type: give the part a :media_type",
                        kind.noun(),
                        shown_url(&url.url)
                    ))
                })?;
            Ok(Some(Media::Inline(Inline {
                media_type,
                data: fetched.data.clone(),
            })))
        }
    }
}

/// The URL's body, from the call's cache or fetched now.
async fn fetch(
    leaf: &Leaf,
    cache: &MediaCache,
    kind: MediaKind,
    url: &str,
) -> Result<Arc<Fetched>, Error> {
    if let Some(hit) = cache.get(url) {
        return Ok(hit);
    }
    // One `request_timeout_ms` over the whole fetch, redirects included:
    // each hop's own timer would restart with it.
    let fetch = Box::pin(get(leaf, kind, url));
    let fetched = match leaf.http.request_timeout {
        Some(limit) => tokio::time::timeout(limit, fetch).await.map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "fetching the {} at {} took longer than request_timeout_ms ({} ms)",
                    kind.noun(),
                    shown_url(url),
                    limit.as_millis()
                ),
            )
        })?,
        None => fetch.await,
    }?;
    let fetched = Arc::new(fetched);
    cache.put(url, fetched.clone());
    Ok(fetched)
}

/// A GET following at most [`MAX_REDIRECTS`] redirects, its body capped at
/// [`MAX_MEDIA_BYTES`]. Errors name the kind and the URL without its query
/// or userinfo, and never carry what the server sent.
async fn get(leaf: &Leaf, kind: MediaKind, url: &str) -> Result<Fetched, Error> {
    let failed = |error_kind: ErrorKind, why: &str| {
        Error::new(
            error_kind,
            format!(
                "fetching the {} at {} failed: {why}",
                kind.noun(),
                shown_url(url)
            ),
        )
    };
    let mut at = Url::parse(url).map_err(|_| failed(ErrorKind::InvalidRequest, "not a URL"))?;
    // The leaf's timeouts apply; its h2c choice is for its provider only.
    let settings = HttpSettings {
        http2_prior_knowledge: false,
        ..leaf.http.clone()
    };
    let transport = transport::client_for(&settings)?;
    for _ in 0..=MAX_REDIRECTS {
        if !matches!(at.scheme(), "http" | "https") {
            return Err(failed(
                ErrorKind::InvalidRequest,
                &format!(
                    "only http and https URLs are fetched, not {}://",
                    at.scheme()
                ),
            ));
        }
        let request = HttpRequest {
            method: Method::GET,
            url: at.clone(),
            headers: HeaderMap::new(),
            body: bytes::Bytes::new(),
            secrets: Secrets::default(),
        };
        let mut response = transport::open(&transport, request, &settings)
            .await
            .map_err(|e| failed(e.kind, &e.message))?;
        let head = transport::head_of(&mut response);
        if matches!(head.status, 301 | 302 | 303 | 307 | 308) {
            let next = head
                .headers
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| at.join(l).ok())
                .ok_or_else(|| {
                    failed(ErrorKind::Network, "a redirect without a usable Location")
                })?;
            at = next;
            continue;
        }
        match head.status {
            200..=299 => {}
            // Asked to wait or slow down: worth another attempt.
            408 | 429 => {
                return Err(failed(
                    ErrorKind::Network,
                    &format!("the media server answered HTTP {}", head.status),
                ))
            }
            400..=499 => {
                return Err(failed(
                    ErrorKind::InvalidRequest,
                    &format!("the media server answered HTTP {}", head.status),
                ))
            }
            status => {
                return Err(failed(
                    ErrorKind::Network,
                    &format!("the media server answered HTTP {status}"),
                ))
            }
        }
        let too_large = || {
            failed(
                ErrorKind::InvalidRequest,
                &format!("it is larger than {} MiB", MAX_MEDIA_BYTES / (1024 * 1024)),
            )
        };
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            let e = transport::transport_error(e, &settings);
            failed(e.kind, &e.message)
        })? {
            if body.len() + chunk.len() > MAX_MEDIA_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let content_type = head
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            // A generic type says nothing: the extension may say more.
            // (S3 serves untyped objects as `binary/octet-stream`.)
            .filter(|v| {
                !v.is_empty() && v != "application/octet-stream" && v != "binary/octet-stream"
            });
        return Ok(Fetched {
            data: base64::engine::general_purpose::STANDARD.encode(&body),
            content_type,
        });
    }
    Err(failed(
        ErrorKind::InvalidRequest,
        &format!("more than {MAX_REDIRECTS} redirects"),
    ))
}
