//! Gemini, Vertex AI (Gemini and Claude), Google's OAuth token endpoint and
//! the GCE metadata server.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const FLASH: &str = "/v1beta/models/gemini-2.5-flash";
const VERTEX: &str =
    "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro";
const VERTEX_GLOBAL: &str =
    "/v1/projects/my-proj/locations/global/publishers/google/models/gemini-2.5-pro";
const CLAUDE: &str =
    "/v1/projects/my-proj/locations/global/publishers/anthropic/models/claude-haiku-4-5@20251001";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const AUD: &str = "https://oauth2.googleapis.com/token";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A request with the caller's headers (`common::send` has fixed ones).
async fn send_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let reads = read_all(&mut stream).await;
    parse(&reads.bytes())
}

async fn post_form(m: &MockServer, path: &str, form: &[(&str, &str)]) -> Resp {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    send_with(
        m.addr(),
        "POST",
        path,
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
}

/// The JSON objects of a Gemini SSE body, checking its CRLF framing.
fn gemini_events(body: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(body).expect("UTF-8 stream");
    assert!(text.ends_with("\r\n\r\n"), "CRLF-framed: {text:?}");
    text.split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let data = e.strip_prefix("data: ").expect("a data event");
            serde_json::from_str(data).expect("event JSON")
        })
        .collect()
}

fn text_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .flat_map(|c| {
            c["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn gemini_plain_answer() {
    let m = mock().await;
    let r = request(
        &m,
        &format!("{FLASH}:generateContent"),
        &json!({"contents": []}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert!(r.header("request-id").is_none() && r.header("x-request-id").is_none());
    let v = r.json();
    let c = &v["candidates"][0];
    assert_eq!(
        c["content"],
        json!({"parts": [{"text": "Hello from switchboard_mock."}], "role": "model"})
    );
    assert_eq!(c["finishReason"], "STOP");
    assert_eq!(c["index"], 0);
    assert_eq!(c["safetyRatings"][0]["probability"], "NEGLIGIBLE");
    assert_eq!(
        v["usageMetadata"],
        json!({"promptTokenCount": 12, "candidatesTokenCount": 8, "totalTokenCount": 20,
               "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]})
    );
    assert_eq!(v["modelVersion"], "gemini-2.5-flash");
    assert!(v["responseId"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn gemini_scripted_answer_with_thoughts() {
    let m = mock().await;
    script(
        &m,
        "g",
        json!([{
            "content": "Short.", "finish_reason": "MAX_TOKENS", "thoughts": "Let me think.",
            "usage": {"input_tokens": 10, "output_tokens": 2, "cached_input_tokens": 4,
                      "thoughts_tokens": 30}
        }]),
    );
    let r = request(&m, &format!("/s/g{FLASH}:generateContent"), &json!({})).await;
    let v = r.json();
    assert_eq!(
        v["candidates"][0]["content"]["parts"],
        json!([{"text": "Let me think.", "thought": true}, {"text": "Short."}])
    );
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
    let u = &v["usageMetadata"];
    assert_eq!(u["promptTokenCount"], 10);
    assert_eq!(u["candidatesTokenCount"], 2);
    assert_eq!(u["cachedContentTokenCount"], 4);
    assert_eq!(u["thoughtsTokenCount"], 30);
    assert_eq!(u["totalTokenCount"], 42);
    let log = m.requests("g");
    assert_eq!(log[0].path, format!("{FLASH}:generateContent"));
}

#[tokio::test]
async fn gemini_blocked_prompt_and_empty_safety_candidate() {
    let m = mock().await;
    script(
        &m,
        "b",
        json!([{"block_reason": "SAFETY"}, {"block_reason": "PROHIBITED_CONTENT"},
               {"content": "", "finish_reason": "SAFETY"}]),
    );
    let v = request(&m, &format!("/s/b{FLASH}:generateContent"), &json!({}))
        .await
        .json();
    assert!(v.get("candidates").is_none());
    assert_eq!(v["promptFeedback"]["blockReason"], "SAFETY");
    assert_eq!(v["usageMetadata"]["promptTokenCount"], 12);
    assert!(v["usageMetadata"].get("candidatesTokenCount").is_none());

    let r = request(
        &m,
        &format!("/s/b{FLASH}:streamGenerateContent?alt=sse"),
        &json!({}),
    )
    .await;
    let events = gemini_events(&r.body);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["promptFeedback"]["blockReason"],
        "PROHIBITED_CONTENT"
    );

    let v = request(&m, &format!("/s/b{FLASH}:generateContent"), &json!({}))
        .await
        .json();
    let c = &v["candidates"][0];
    assert!(c.get("content").is_none());
    assert_eq!(c["finishReason"], "SAFETY");
    let blocked: Vec<&Value> = c["safetyRatings"]
        .as_array()
        .expect("ratings")
        .iter()
        .filter(|r| r["blocked"] == true)
        .collect();
    assert_eq!(blocked.len(), 1);
}

#[tokio::test]
async fn gemini_sse_stream() {
    let m = mock().await;
    script(
        &m,
        "st",
        json!([{"content": "one two three", "thoughts": "hmm", "usage": {"thoughts_tokens": 5}}]),
    );
    let r = request(
        &m,
        &format!("/s/st{FLASH}:streamGenerateContent?alt=sse"),
        &json!({"contents": []}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream")));
    assert!(r.complete_chunked);
    let text = String::from_utf8(r.body.clone()).expect("utf8");
    assert!(!text.contains("[DONE]"), "no end sentinel");
    let events = gemini_events(&r.body);
    assert_eq!(events.len(), 4, "a thought chunk, then one chunk per word");
    assert_eq!(
        events[0]["candidates"][0]["content"]["parts"],
        json!([{"text": "hmm", "thought": true}])
    );
    assert_eq!(text_of(&events), "one two three");
    for e in &events[..3] {
        assert!(e["candidates"][0].get("finishReason").is_none());
        assert!(e["usageMetadata"].get("candidatesTokenCount").is_none());
        assert_eq!(e["modelVersion"], "gemini-2.5-flash");
    }
    let last = &events[3];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 8);
    assert_eq!(last["usageMetadata"]["thoughtsTokenCount"], 5);
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 25);
    let ids: Vec<&Value> = events.iter().map(|e| &e["responseId"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
}

#[tokio::test]
async fn gemini_stream_without_alt_sse_is_a_json_array() {
    let m = mock().await;
    let r = request(&m, &format!("{FLASH}:streamGenerateContent"), &json!({})).await;
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert!(r.complete_chunked, "streamed, so chunked");
    let v = r.json();
    let chunks = v.as_array().expect("a JSON array");
    assert_eq!(chunks.len(), 3);
    assert_eq!(text_of(chunks), "Hello from switchboard_mock.");
    assert_eq!(chunks[2]["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn gemini_stream_faults() {
    let m = mock().await;
    script(
        &m,
        "f",
        json!([
            {"chunks": 4, "error_after": 2, "error_type": "RESOURCE_EXHAUSTED"},
            {"chunks": 4, "error_after": 1},
            {"chunks": 4, "truncate_after": 2},
            {"content": "", "finish_reason": "RECITATION"}
        ]),
    );
    let path = format!("/s/f{FLASH}:streamGenerateContent?alt=sse");
    let r = request(&m, &path, &json!({})).await;
    assert!(r.complete_chunked, "the body ends normally after the error");
    let events = gemini_events(&r.body);
    assert_eq!(events.len(), 3);
    assert_eq!(text_of(&events[..2]), "w1 w2");
    assert!(events[..2]
        .iter()
        .all(|e| e["candidates"][0].get("finishReason").is_none()));
    assert_eq!(events[2]["error"]["code"], 429);
    assert_eq!(events[2]["error"]["status"], "RESOURCE_EXHAUSTED");
    assert!(events[2]["error"]["message"].is_string());

    let events = gemini_events(&request(&m, &path, &json!({})).await.body);
    assert_eq!(
        events[1]["error"],
        json!({"code": 500, "status": "INTERNAL",
               "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"})
    );

    let r = request(&m, &path, &json!({})).await;
    assert!(!r.complete_chunked, "cut before any finishReason");
    let events = gemini_events(&r.body);
    assert_eq!(events.len(), 2);
    m.wait_for_outcome("f", 2, Outcome::Dropped, Duration::from_secs(5))
        .await
        .expect("dropped");

    let events = gemini_events(&request(&m, &path, &json!({})).await.body);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["candidates"][0],
        json!({"finishReason": "RECITATION", "index": 0,
               "safetyRatings": events[0]["candidates"][0]["safetyRatings"].clone()})
    );
}

#[tokio::test]
async fn gemini_error_statuses() {
    let m = mock().await;
    let cases = [
        (400, None, "INVALID_ARGUMENT"),
        (400, Some("FAILED_PRECONDITION"), "FAILED_PRECONDITION"),
        (401, None, "UNAUTHENTICATED"),
        (403, None, "PERMISSION_DENIED"),
        (404, None, "NOT_FOUND"),
        (429, None, "RESOURCE_EXHAUSTED"),
        (500, None, "INTERNAL"),
        (503, None, "UNAVAILABLE"),
        (504, None, "DEADLINE_EXCEEDED"),
    ];
    let steps: Vec<Value> = cases
        .iter()
        .map(|(status, t, _)| json!({"status": status, "error_type": t}))
        .collect();
    script(&m, "e", Value::Array(steps));
    for (status, _, name) in cases {
        let r = request(
            &m,
            &format!("/s/e{FLASH}:streamGenerateContent?alt=sse"),
            &json!({}),
        )
        .await;
        assert_eq!(r.status, status);
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
        let v = r.json();
        assert_eq!(v["error"]["code"], status);
        assert_eq!(v["error"]["status"], name, "{status}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
    }
    script(&m, "nf", json!([{"status": 404}]));
    let v = request(
        &m,
        "/s/nf/v1beta/models/gemini-9:generateContent",
        &json!({}),
    )
    .await
    .json();
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|s| s.starts_with("models/gemini-9 is not found")));
}

#[tokio::test]
async fn vertex_gemini_regional_and_global() {
    let m = mock().await;
    for prefix in [VERTEX, VERTEX_GLOBAL] {
        let v = request(&m, &format!("/s/vx{prefix}:generateContent"), &json!({}))
            .await
            .json();
        assert_eq!(v["modelVersion"], "gemini-2.5-pro");
        assert_eq!(v["usageMetadata"]["trafficType"], "ON_DEMAND");
        assert_eq!(v["usageMetadata"]["totalTokenCount"], 20);
    }
    let r = request(
        &m,
        &format!("/s/vx{VERTEX}:streamGenerateContent?alt=sse"),
        &json!({}),
    )
    .await;
    let events = gemini_events(&r.body);
    assert_eq!(
        events[0]["usageMetadata"],
        json!({"trafficType": "ON_DEMAND"})
    );
    assert_eq!(
        events.last().expect("last")["usageMetadata"]["promptTokenCount"],
        12
    );
    let log = m.requests("vx");
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].query, "alt=sse");

    script(&m, "vx", json!([{"status": 404}, {"status": 429}]));
    let v = request(&m, &format!("/s/vx{VERTEX}:generateContent"), &json!({}))
        .await
        .json();
    assert!(v["error"]["message"].as_str().is_some_and(|s| s.starts_with(
        "Publisher Model `projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro` was not found"
    )));
    let v = request(&m, &format!("/s/vx{VERTEX}:generateContent"), &json!({}))
        .await
        .json();
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
}

#[tokio::test]
async fn claude_on_vertex() {
    let m = mock().await;
    let body = json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 50,
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = request(&m, &format!("/s/c{CLAUDE}:rawPredict"), &body).await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("request-id")
        .is_some_and(|id| id.starts_with("req_vrtx_")));
    let v = r.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["model"], "claude-haiku-4-5-20251001");
    assert_eq!(v["content"][0]["text"], "Hello from switchboard_mock.");
    assert_eq!(v["stop_reason"], "end_turn");

    let r = request(&m, &format!("/s/c{CLAUDE}:streamRawPredict"), &body).await;
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream")));
    let events = sse_events(&r.body);
    assert_eq!(events[0].0.as_deref(), Some("message_start"));
    let start: Value = serde_json::from_str(&events[0].1).expect("json");
    assert_eq!(start["message"]["model"], "claude-haiku-4-5-20251001");
    assert_eq!(
        events.last().and_then(|e| e.0.as_deref()),
        Some("message_stop")
    );

    script(
        &m,
        "c",
        json!([
            {"status": 429}, {"status": 529}, {"status": 503, "error_type": "UNAVAILABLE"},
            {"chunks": 3, "error_after": 1}
        ]),
    );
    let v = request(&m, &format!("/s/c{CLAUDE}:rawPredict"), &body)
        .await
        .json();
    assert_eq!(
        v["error"]["status"], "RESOURCE_EXHAUSTED",
        "Google's front end"
    );
    assert_eq!(v["error"]["code"], 429);
    let v = request(&m, &format!("/s/c{CLAUDE}:rawPredict"), &body)
        .await
        .json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "overloaded_error", "Anthropic's API");
    let v = request(&m, &format!("/s/c{CLAUDE}:rawPredict"), &body)
        .await
        .json();
    assert_eq!(v["error"]["status"], "UNAVAILABLE");
    let r = request(&m, &format!("/s/c{CLAUDE}:streamRawPredict"), &body).await;
    let events = sse_events(&r.body);
    assert_eq!(events.last().and_then(|e| e.0.as_deref()), Some("error"));
}

// ---------------------------------------------------------------------------
// Service accounts

/// A throwaway RSA key for this test run, as a PKCS#8 PEM, and its public
/// half as an SPKI PEM.
fn test_key() -> &'static (String, String) {
    static KEY: OnceLock<(String, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        let private = pem("PRIVATE KEY", pair.as_der().expect("PKCS#8").as_ref());
        let public = pem(
            "PUBLIC KEY",
            pair.public_key().as_der().expect("SPKI").as_ref(),
        );
        (private, public)
    })
}

fn other_key() -> &'static String {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        pem("PRIVATE KEY", pair.as_der().expect("PKCS#8").as_ref())
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn service_account(email: &str, token_uri: &str) -> Value {
    json!({
        "type": "service_account", "project_id": "my-proj", "private_key_id": "k1",
        "private_key": test_key().0, "client_email": email, "client_id": "1",
        "token_uri": token_uri
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .expect("clock")
}

fn claims(email: &str) -> Value {
    let iat = now();
    json!({"iss": email, "scope": SCOPE, "aud": AUD, "iat": iat, "exp": iat + 3600})
}

fn sign(claims: &Value, private_pem: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("private key");
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

async fn exchange(m: &MockServer, path: &str, assertion: &str) -> Resp {
    post_form(
        m,
        path,
        &[("grant_type", JWT_BEARER), ("assertion", assertion)],
    )
    .await
}

#[tokio::test]
async fn service_account_assertion_is_exchanged_for_a_token() {
    let m = mock().await;
    let email = "sa-ok@my-proj.iam.gserviceaccount.com";
    let sa = service_account(email, &format!("{}/token", m.base_url("tok")));
    assert_eq!(m.add_google_key(&sa).as_deref(), Ok(email));

    let assertion = sign(&claims(email), &test_key().0);
    let r = exchange(&m, "/s/tok/token", &assertion).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        r.json(),
        json!({"access_token": "ya29.mock-1", "expires_in": 3599, "token_type": "Bearer"})
    );
    let r = exchange(&m, "/s/tok/token", &assertion).await;
    assert_eq!(r.json()["access_token"], "ya29.mock-2");

    // The log is how tests count token requests.
    let log = m.requests("tok");
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r.method == "POST" && r.path == "/token"));
    let form: Vec<(String, String)> = form_urlencoded::parse(&log[0].body).into_owned().collect();
    assert_eq!(form[0], ("grant_type".into(), JWT_BEARER.into()));
    assert_eq!(form[1], ("assertion".into(), assertion));
    assert_eq!(log[0].status(), Some(200));

    // A new script restarts the numbering.
    script(&m, "tok", json!([]));
    let r = exchange(&m, "/s/tok/token", &sign(&claims(email), &test_key().0)).await;
    assert_eq!(r.json()["access_token"], "ya29.mock-1");
}

#[tokio::test]
async fn bad_assertions_are_refused() {
    let m = mock().await;
    let email = "sa-bad@my-proj.iam.gserviceaccount.com";
    m.add_google_key(&service_account(email, "unused"))
        .expect("key");
    let good = claims(email);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let valid = sign(&good, &test_key().0);
    // Same header and claims, another payload: the signature no longer fits.
    let tampered = {
        let parts: Vec<&str> = valid.split('.').collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&with("scope", json!(format!("{SCOPE} extra")))).expect("json"),
        );
        format!("{}.{forged}.{}", parts[0], parts[2])
    };
    let signature_msg = "Invalid JWT Signature.";
    let short_lived = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("tampered", tampered, "invalid_grant", signature_msg),
        ("another key", sign(&good, other_key()), "invalid_grant", signature_msg),
        (
            "unknown account",
            sign(&with("iss", json!("nobody@x")), &test_key().0),
            "invalid_grant",
            "Invalid grant: account not found",
        ),
        (
            "wrong audience",
            sign(&with("aud", json!("https://example.com/token")), &test_key().0),
            "invalid_grant",
            "Invalid JWT: Failed audience check. The right audience is https://oauth2.googleapis.com/token",
        ),
        (
            "expired",
            sign(
                &with("iat", json!(now() - 7200)).tap(|c| c["exp"] = json!(now() - 3600)),
                &test_key().0,
            ),
            "invalid_grant",
            short_lived,
        ),
        (
            "too long",
            sign(&with("exp", json!(now() + 7200)), &test_key().0),
            "invalid_grant",
            short_lived,
        ),
        (
            "issued in the future",
            sign(
                &with("iat", json!(now() + 1800)).tap(|c| c["exp"] = json!(now() + 3000)),
                &test_key().0,
            ),
            "invalid_grant",
            short_lived,
        ),
        (
            "no scope",
            sign(
                &with("scope", json!("https://www.googleapis.com/auth/devstorage.read_only")),
                &test_key().0,
            ),
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ),
        ("not a JWT", "garbage".to_owned(), "invalid_grant", "Invalid JWT: the assertion is not a JWT."),
    ];
    for (what, assertion, error, description) in cases {
        let r = exchange(&m, "/s/bad/token", &assertion).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert_eq!(
            r.json(),
            json!({"error": error, "error_description": description}),
            "{what}"
        );
    }
    // An HS256 token with the same claims is refused too.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(b"s"),
    )
    .expect("sign");
    assert_eq!(exchange(&m, "/s/bad/token", &hs).await.status, 400);

    let r = post_form(&m, "/s/bad/token", &[("grant_type", JWT_BEARER)]).await;
    assert_eq!(
        r.json(),
        json!({"error": "invalid_request", "error_description": "Missing required parameter: assertion"})
    );
    let r = post_form(&m, "/s/bad/token", &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    // The valid one still works.
    assert_eq!(exchange(&m, "/s/bad/token", &valid).await.status, 200);
}

/// The assertion with one character of its signature changed.
fn flip_signature_char(assertion: &str) -> String {
    let at = assertion.rfind('.').expect("signed") + 10;
    let mut forged = assertion.to_owned();
    let c = if &forged[at..=at] == "A" { "B" } else { "A" };
    forged.replace_range(at..=at, c);
    forged
}

/// `Value::tap`, for building a claim set in one expression.
trait Tap {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for Value {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

#[tokio::test]
async fn refresh_token_grant() {
    let m = mock().await;
    let r = post_form(
        &m,
        "/s/user/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "123"),
            ("client_secret", "secret"),
            ("refresh_token", "alabalaportocala"),
        ],
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"access_token": "ya29.mock-1", "expires_in": 3599, "scope": SCOPE,
               "token_type": "Bearer"})
    );
    let r = post_form(
        &m,
        "/s/user/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "123"),
            ("refresh_token", "r"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
}

#[tokio::test]
async fn token_endpoint_takes_steps() {
    let m = mock().await;
    script(
        &m,
        "ts",
        json!([
            {"status": 500},
            {"status": 400, "error_type": "invalid_client"},
            {"access_token": "ya29.scripted", "expires_in": 5},
            {"delay_ms": 5000}
        ]),
    );
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "1"),
        ("client_secret", "s"),
        ("refresh_token", "r"),
    ];
    let r = post_form(&m, "/s/ts/token", &form).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json(),
        json!({"error": "internal_failure", "error_description": "Backend Error"})
    );
    let r = post_form(&m, "/s/ts/token", &form).await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_client"))
    );
    let r = post_form(&m, "/s/ts/token", &form).await;
    assert_eq!(r.json()["access_token"], "ya29.scripted");
    assert_eq!(r.json()["expires_in"], 5);

    // A pending token fetch the client abandons is recorded as such.
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let s = send(m.addr(), "POST", "/s/ts/token", body.as_bytes()).await;
    m.wait_for_outcome("ts", 3, Outcome::Pending, Duration::from_secs(5))
        .await
        .expect("pending");
    drop(s);
    m.wait_for_outcome("ts", 3, Outcome::ClientDisconnected, Duration::from_secs(5))
        .await
        .expect("abandoned");
    // Every request counted, whatever it got.
    assert_eq!(m.requests("ts").len(), 4);
}

#[tokio::test]
async fn keys_by_control_api() {
    let m = mock().await;
    let email = "sa-ctl@my-proj.iam.gserviceaccount.com";
    // A public key alone, over the JSON control API.
    let body = serde_json::to_vec(&json!({"client_email": email, "public_key": test_key().1}))
        .expect("json");
    let r = send_with(
        m.addr(),
        "POST",
        "/_mock/google_keys",
        &[("content-type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = exchange(&m, "/token", &sign(&claims(email), &test_key().0)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // A service-account JSON text.
    let email2 = "sa-text@my-proj.iam.gserviceaccount.com";
    let text = serde_json::to_string(&service_account(email2, "x")).expect("json");
    let body = serde_json::to_vec(&Value::String(text)).expect("json");
    let r = send_with(
        m.addr(),
        "POST",
        "/_mock/google_keys",
        &[("content-type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = exchange(&m, "/token", &sign(&claims(email2), &test_key().0)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // What `Switchboard.Mock.add_google_key/2` sends: an ETF map, atom keys allowed.
    let email3 = "sa-etf@my-proj.iam.gserviceaccount.com";
    let term = eetf::Term::from(eetf::Map::from([
        (
            eetf::Term::from(eetf::Atom::from("client_email")),
            eetf::Term::from(eetf::Binary::from(email3.as_bytes())),
        ),
        (
            eetf::Term::from(eetf::Binary::from(&b"private_key"[..])),
            eetf::Term::from(eetf::Binary::from(test_key().0.as_bytes())),
        ),
    ]));
    let mut body = Vec::new();
    term.encode(&mut body).expect("encode");
    let r = send_with(m.addr(), "POST", "/_mock/google_keys", &[], &body).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/x-erlang-binary")
    );
    let answer = eetf::Term::decode(&r.body[..]).expect("ETF");
    assert_eq!(
        answer,
        eetf::Term::from(eetf::Map::from([(
            eetf::Term::from(eetf::Binary::from(&b"client_email"[..])),
            eetf::Term::from(eetf::Binary::from(email3.as_bytes())),
        )]))
    );
    let r = exchange(&m, "/token", &sign(&claims(email3), &test_key().0)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = send_with(
        m.addr(),
        "POST",
        "/_mock/google_keys",
        &[("content-type", "application/json")],
        br#"{"client_email": "x@y"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("private_key"));
}

#[tokio::test]
async fn metadata_server() {
    let m = mock().await;
    let flavor = [("metadata-flavor", "Google")];
    let token_path = "/s/md/computeMetadata/v1/instance/service-accounts/default/token";
    let r = send_with(m.addr(), "GET", token_path, &flavor, b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("metadata-flavor"), Some("Google"));
    assert_eq!(
        r.json(),
        json!({"access_token": "ya29.mock-1", "expires_in": 3599, "token_type": "Bearer"})
    );
    let r = send_with(
        m.addr(),
        "GET",
        &format!("{token_path}?scopes={SCOPE}"),
        &flavor,
        b"",
    )
    .await;
    assert_eq!(r.json()["access_token"], "ya29.mock-2");

    let r = send_with(m.addr(), "GET", token_path, &[], b"").await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("Metadata-Flavor"));

    let r = send_with(
        m.addr(),
        "GET",
        "/s/md/computeMetadata/v1/project/project-id",
        &flavor,
        b"",
    )
    .await;
    assert_eq!((r.status, r.text()), (200, "mock-project".to_owned()));
    assert_eq!(r.header("content-type"), Some("application/text"));
    let r = send_with(
        m.addr(),
        "GET",
        "/computeMetadata/v1/instance/service-accounts/default/email",
        &flavor,
        b"",
    )
    .await;
    assert!(r.text().ends_with("@developer.gserviceaccount.com"));
    let r = send_with(
        m.addr(),
        "GET",
        "/s/md/computeMetadata/v1/instance/hostname",
        &flavor,
        b"",
    )
    .await;
    assert_eq!(r.status, 404);

    script(
        &m,
        "md",
        json!([{"status": 503}, {"body": "other-project", "content_type": "application/text"}]),
    );
    let r = send_with(m.addr(), "GET", token_path, &flavor, b"").await;
    assert_eq!(r.status, 503);
    let r = send_with(
        m.addr(),
        "GET",
        "/s/md/computeMetadata/v1/project/project-id",
        &flavor,
        b"",
    )
    .await;
    assert_eq!(r.text(), "other-project");
    let log = m.requests("md");
    assert_eq!(log.len(), 2);
    assert!(log[0]
        .headers
        .iter()
        .any(|(n, v)| n == "metadata-flavor" && v.as_ref() == b"Google"));
}

/// google-auth's own test service account and the assertion it signs (see
/// the corpus's SOURCES.md): the mock agrees the signature is good, and the
/// 2023 timestamps are what it refuses.
#[tokio::test]
async fn conformance_google_auth_assertion() {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/google-auth"
    );
    let Ok(sa_text) = std::fs::read_to_string(format!(
        "{root}/google-auth-library-python-tests-data/service_account.json"
    )) else {
        eprintln!("skipped: {root} is absent");
        return;
    };
    let derived: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{root}/DERIVED_google-auth_service_account_assertion.json"
        ))
        .expect("derived vector"),
    )
    .expect("json");
    let assertion = derived["assertion"].as_str().expect("assertion");
    let m = mock().await;
    let short_lived = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
    for key in [
        Value::String(sa_text),
        json!({"client_email": "service-account@example.com",
               "public_key": std::fs::read_to_string(format!("{root}/google-auth-library-python-tests-data/privatekey.pub")).expect("pub")}),
        json!({"client_email": "service-account@example.com",
               "public_key": std::fs::read_to_string(format!("{root}/google-auth-library-python-tests-data/public_cert.pem")).expect("cert")}),
    ] {
        assert_eq!(
            m.add_google_key(&key).as_deref(),
            Ok("service-account@example.com")
        );
        let r = exchange(&m, "/token", assertion).await;
        assert_eq!(r.json()["error_description"], short_lived);
        let r = exchange(&m, "/token", &flip_signature_char(assertion)).await;
        assert_eq!(r.json()["error_description"], "Invalid JWT Signature.");
    }
}
