//! The AWS credential chain's HTTP client (for STS, SSO, ECS and instance
//! metadata) on reqwest, so the SDK brings no second HTTP and TLS stack.
//! Built like every credential client ([`crate::auth::http::builder`]):
//! instance metadata and container endpoints never go through a proxy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::auth::http::{builder, Route, MAX_BODY};

type Key = (Option<Duration>, Option<Duration>);

/// One pair of reqwest clients (direct, and through the environment's
/// proxy) per timeout setting the SDK asks for (instance metadata wants
/// 1 s timeouts, STS the defaults).
#[derive(Debug, Default, Clone)]
pub(super) struct ReqwestHttpClient {
    connectors: Arc<Mutex<HashMap<Key, SharedHttpConnector>>>,
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors
            .entry(key)
            .or_insert_with(|| {
                let build = |route| {
                    let mut b = builder(route);
                    if let Some(t) = key.0 {
                        b = b.connect_timeout(t);
                    }
                    if let Some(t) = key.1 {
                        b = b.read_timeout(t);
                    }
                    b.build().map_err(Arc::new)
                };
                SharedHttpConnector::new(Connector {
                    internet: build(Route::Internet),
                    local: build(Route::Local),
                })
            })
            .clone()
    }
}

type Built = Result<reqwest::Client, Arc<reqwest::Error>>;

#[derive(Debug)]
struct Connector {
    internet: Built,
    local: Built,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let host = request
            .uri()
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.host().map(str::to_owned))
            .unwrap_or_default();
        let client = match Route::for_host(&host) {
            Route::Internet => self.internet.clone(),
            Route::Local => self.local.clone(),
        };
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|e| ConnectorError::other(e.to_string().into(), None))?;
            send(&client, request).await
        })
    }
}

async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let method = reqwest::Method::from_bytes(request.method().as_bytes())
        .map_err(|e| ConnectorError::user(e.into()))?;
    let mut builder = client.request(method, request.uri());
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    let body = match request.body().bytes() {
        Some(bytes) => bytes.to_vec(),
        None => {
            return Err(ConnectorError::user(
                "streaming request bodies are not supported by switchboard's AWS HTTP client"
                    .into(),
            ))
        }
    };
    let mut response = builder.body(body).send().await.map_err(connector_error)?;
    let status = StatusCode::try_from(response.status().as_u16())
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(connector_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ConnectorError::other(
                format!(
                    "the credential endpoint's answer is larger than {} KiB",
                    MAX_BODY / 1024
                )
                .into(),
                None,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut out = HttpResponse::new(status, SdkBody::from(body));
    for (name, value) in headers {
        out.headers_mut().append(name, value);
    }
    Ok(out)
}

fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
