//! Which endpoint a request is for. The mock serves each provider's real
//! paths only (after an optional `/s/<scenario>`), so a client whose
//! `base_url` is wrong fails in a test as it would against the provider;
//! anything else is a 404 (a served path with another method a 405) whose
//! body lists what is served.

use bytes::Bytes;
use hyper::Method;
use serde_json::json;

use crate::aws::credentials::Route as CredentialRoute;
use crate::dialect::{Anthropic, Bedrock, Dialect, Gemini, GoogleCall, OpenAiChat};
use crate::dialect::{OpenAiResponses, Platform};
use crate::google_token::GoogleEndpoint;

/// What a request is for.
#[derive(Debug)]
pub enum Route {
    /// A model API: the dialect it speaks and who hosts it.
    Llm(&'static dyn Dialect, Platform),
    /// Google's token endpoint or the GCE metadata server.
    Google(GoogleEndpoint),
    /// The AWS credential endpoints.
    Credentials(CredentialRoute),
}

/// A request no endpoint serves.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    /// The path is served, with this method only.
    WrongMethod(Method),
}

pub fn route(method: &Method, path: &str, query: &str, body: &[u8]) -> Result<Route, Miss> {
    if let Some(route) = CredentialRoute::detect(method, path, query, body) {
        return Ok(Route::Credentials(route));
    }
    let route = served_at(path).ok_or(Miss::NotFound)?;
    let allowed = match route {
        Route::Google(GoogleEndpoint::Metadata) => Method::GET,
        _ => Method::POST,
    };
    if *method == allowed {
        Ok(route)
    } else {
        Err(Miss::WrongMethod(allowed))
    }
}

/// A model API on its own host (or one that copies it).
fn native(dialect: &'static dyn Dialect) -> Option<Route> {
    Some(Route::Llm(dialect, Platform::Native))
}

/// What is served at `path`, whatever the method: the route table. Where
/// each path comes from: the URLs `switchboard_core` builds
/// (`providers/*.rs`) and the providers' API references.
fn served_at(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let named = |s: &str| !s.is_empty();
    match segments.as_slice() {
        // OpenAI, Ollama and OpenAI-compatible servers; OpenRouter; Azure
        // OpenAI's v1 API.
        ["v1", "chat", "completions"]
        | ["api", "v1", "chat", "completions"]
        | ["openai", "v1", "chat", "completions"] => native(&OpenAiChat),
        // Azure OpenAI's deployment URLs (dated API versions).
        ["openai", "deployments", deployment, "chat", "completions"] if named(deployment) => {
            native(&OpenAiChat)
        }
        ["v1", "responses"] | ["openai", "v1", "responses"] => native(&OpenAiResponses),
        ["v1", "messages"] => native(&Anthropic),
        ["v1" | "v1beta", "models", call] => google(None, call),
        ["v1" | "v1beta1", "projects", project, "locations", location, "publishers", publisher, "models", call]
            if named(project) && named(location) =>
        {
            google(Some(publisher), call)
        }
        // Vertex AI express mode (an API key, no project in the URL).
        ["v1" | "v1beta1", "publishers", "google", "models", call] => google(Some("google"), call),
        ["model", model, "converse" | "converse-stream"] if named(model) => native(&Bedrock),
        // oauth2.googleapis.com, and the older names of the same endpoint.
        ["token"] | ["o", "oauth2", "token"] | ["oauth2", "v4", "token"] => {
            Some(Route::Google(GoogleEndpoint::Token))
        }
        ["computeMetadata", "v1", ..] => Some(Route::Google(GoogleEndpoint::Metadata)),
        _ => None,
    }
}

/// `…/models/{model}:{method}`: Gemini's methods on the Gemini API and on
/// Vertex (publisher `google`), Claude's on Vertex (publisher `anthropic`).
fn google(publisher: Option<&str>, call: &str) -> Option<Route> {
    let call = GoogleCall::parse(call)?;
    let (dialect, platform): (&'static dyn Dialect, _) = match (publisher, call.method) {
        (None, GoogleCall::GENERATE | GoogleCall::STREAM_GENERATE) => (&Gemini, Platform::Native),
        (Some("google"), GoogleCall::GENERATE | GoogleCall::STREAM_GENERATE) => {
            (&Gemini, Platform::Vertex)
        }
        (Some("anthropic"), GoogleCall::RAW_PREDICT | GoogleCall::STREAM_RAW_PREDICT) => {
            (&Anthropic, Platform::Vertex)
        }
        _ => return None,
    };
    Some(Route::Llm(dialect, platform))
}

/// What the mock serves, for the 404's message.
const SERVED: &[(&str, &str)] = &[
    (
        "POST /v1/chat/completions",
        "openai, openai-generic, ollama",
    ),
    ("POST /api/v1/chat/completions", "openrouter"),
    (
        "POST /openai/deployments/{deployment}/chat/completions, /openai/v1/chat/completions",
        "azure-openai",
    ),
    (
        "POST /v1/responses, /openai/v1/responses",
        "OpenAiResponses",
    ),
    ("POST /v1/messages", "anthropic"),
    (
        "POST /v1beta/models/{model}:generateContent or :streamGenerateContent (or /v1/models/…)",
        "google-ai",
    ),
    (
        "POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent \
         or :streamGenerateContent, …/publishers/anthropic/models/{model}:rawPredict or \
         :streamRawPredict, /v1/publishers/google/models/{model}:… (express mode), also under /v1beta1",
        "vertex-ai",
    ),
    (
        "POST /model/{model}/converse, /model/{model}/converse-stream",
        "aws-bedrock",
    ),
    ("POST /token", "Google's OAuth token endpoint"),
    ("GET /computeMetadata/v1/…", "the GCE metadata server"),
    (
        "POST /?Action=…, GET /v2/credentials/…, PUT /latest/api/token, GET /latest/meta-data/…",
        "AWS STS, container credentials and IMDS",
    ),
];

/// The 404 or 405 for a request no endpoint serves: a status, the `Allow`
/// header of a 405, and a body that clients of every family read: OpenAI's
/// and Anthropic's `error.message` and `error.type`, Google's `error.code`
/// and `error.status`, Bedrock's top-level `message`.
pub fn miss_reply(miss: &Miss, method: &str, path: &str) -> (u16, Option<Method>, Bytes) {
    let mut served = String::new();
    for (paths, who) in SERVED {
        served.push_str(&format!("\n  {paths} ({who})"));
    }
    let tail = format!(
        "After an optional /s/<scenario> it serves:{served}\n\
         Switchboard.Mock.base_url(mock, scenario, provider) is each client's base_url."
    );
    let (status, allow, message) = match miss {
        Miss::NotFound => (
            404,
            None,
            format!(
                "switchboard_mock serves no {method} {path}{}. {tail}",
                hint(path).unwrap_or_default()
            ),
        ),
        Miss::WrongMethod(allowed) => (
            405,
            Some(allowed.clone()),
            format!("switchboard_mock serves {path} with {allowed} only, not {method}. {tail}"),
        ),
    };
    (status, allow, error_body(status, &message))
}

/// The same body for a path the mock cannot even split (a bad scenario id).
pub fn error_body(status: u16, message: &str) -> Bytes {
    let (kind, google_status) = match status {
        405 => ("invalid_request_error", "INVALID_ARGUMENT"),
        _ => ("not_found_error", "NOT_FOUND"),
    };
    let body = json!({
        "error": {"message": message, "type": kind, "code": status, "status": google_status},
        "message": message,
    });
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// How a near miss would be served: the usual mistakes are a `base_url`
/// that repeats part of the path (`/v1/v1/messages`) or lacks it
/// (`/chat/completions`).
fn hint(path: &str) -> Option<String> {
    let mut rest = path;
    while let Some(i) = rest.get(1..).and_then(|r| r.find('/')) {
        rest = &rest[i + 1..];
        if served_at(rest).is_some() {
            let extra = &path[..path.len() - rest.len()];
            return Some(format!(
                " ({rest} is served: does the client's base_url end in {extra} too many?)"
            ));
        }
    }
    ["/v1", "/v1beta", "/api/v1"].iter().find_map(|prefix| {
        served_at(&format!("{prefix}{path}")).map(|_| {
            format!(" ({prefix}{path} is served: does the client's base_url lack {prefix}?)")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The route as `Dialect` or `Dialect@vertex`, or the Google endpoint.
    fn at(method: Method, path: &str) -> Result<String, Miss> {
        match route(&method, path, "", b"")? {
            Route::Llm(dialect, Platform::Native) => Ok(format!("{dialect:?}")),
            Route::Llm(dialect, Platform::Vertex) => Ok(format!("{dialect:?}@vertex")),
            Route::Google(endpoint) => Ok(format!("{endpoint:?}")),
            Route::Credentials(_) => panic!("{path} is a credential route"),
        }
    }

    #[test]
    fn serves_each_providers_real_paths() {
        for (path, served) in [
            ("/v1/chat/completions", "OpenAiChat"),
            ("/api/v1/chat/completions", "OpenAiChat"),
            ("/openai/deployments/d1/chat/completions", "OpenAiChat"),
            ("/openai/v1/chat/completions", "OpenAiChat"),
            ("/v1/responses", "OpenAiResponses"),
            ("/openai/v1/responses", "OpenAiResponses"),
            ("/v1/messages", "Anthropic"),
            ("/v1beta/models/gemini-2.5-flash:generateContent", "Gemini"),
            ("/v1beta/models/gemini-2.5-flash%3AstreamGenerateContent", "Gemini"),
            ("/v1/models/gemini-2.5-flash:generateContent", "Gemini"),
            (
                "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent",
                "Gemini@vertex",
            ),
            (
                "/v1beta1/projects/p/locations/global/publishers/google/models/g:generateContent",
                "Gemini@vertex",
            ),
            ("/v1/publishers/google/models/gemini-2.5-pro:generateContent", "Gemini@vertex"),
            (
                "/v1/projects/p/locations/global/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict",
                "Anthropic@vertex",
            ),
            (
                "/v1/projects/p/locations/global/publishers/anthropic/models/claude-x:streamRawPredict",
                "Anthropic@vertex",
            ),
            ("/model/us.anthropic.claude-v1%3A0/converse", "Bedrock"),
            ("/model/m/converse-stream", "Bedrock"),
            ("/token", "Token"),
            ("/o/oauth2/token", "Token"),
        ] {
            assert_eq!(at(Method::POST, path), Ok(served.to_owned()), "{path}");
        }
        assert_eq!(
            at(
                Method::GET,
                "/computeMetadata/v1/instance/service-accounts/default/token"
            ),
            Ok("Metadata".to_owned())
        );
    }

    #[test]
    fn anything_else_is_a_miss() {
        for path in [
            "/v1/v1/messages",
            "/messages",
            "/chat/completions",
            "/v1/chat/completions/",
            "/openai/deployments//chat/completions",
            "/responses",
            "/v1/embeddings",
            "/model/m/invoke",
            "/model//converse",
            "/v1beta/models/gemini:rawPredict",
            "/v1beta/models/gemini:countTokens",
            "/v1beta/v1beta/models/g:generateContent",
            "/v1/projects/p/locations/global/publishers/anthropic/models/claude-x:generateContent",
            "/v1/publishers/anthropic/models/claude-x:rawPredict",
            "/auth/token",
        ] {
            assert_eq!(at(Method::POST, path), Err(Miss::NotFound), "{path}");
        }
        assert_eq!(
            at(Method::GET, "/v1/messages"),
            Err(Miss::WrongMethod(Method::POST))
        );
        assert_eq!(
            at(Method::POST, "/computeMetadata/v1/project/project-id"),
            Err(Miss::WrongMethod(Method::GET))
        );
    }

    #[test]
    fn credential_routes_come_first() {
        assert!(matches!(
            route(&Method::PUT, "/latest/api/token", "", b""),
            Ok(Route::Credentials(_))
        ));
    }

    #[test]
    fn a_miss_names_what_is_served_and_the_likely_mistake() {
        let (status, allow, body) = miss_reply(&Miss::NotFound, "POST", "/v1/v1/messages");
        assert_eq!((status, allow), (404, None));
        let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let message = v["error"]["message"].as_str().expect("message");
        assert_eq!(v["message"], v["error"]["message"]);
        assert_eq!(v["error"]["status"], "NOT_FOUND");
        for served in [
            "/v1/messages (anthropic)",
            "/api/v1/chat/completions",
            ":rawPredict",
        ] {
            assert!(message.contains(served), "{message}");
        }
        assert!(
            message.contains("base_url end in /v1 too many"),
            "{message}"
        );
        let (_, _, body) = miss_reply(&Miss::NotFound, "POST", "/chat/completions");
        assert!(String::from_utf8_lossy(&body).contains("lack /v1?"));
        let (status, allow, _) =
            miss_reply(&Miss::WrongMethod(Method::POST), "GET", "/v1/messages");
        assert_eq!((status, allow), (405, Some(Method::POST)));
    }
}
