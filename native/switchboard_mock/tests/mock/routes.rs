//! Each provider's real paths only: a wrong base_url is a 404 (or 405) that
//! names what is served, logged but answered without using a step.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn a_wrong_path_is_a_404_naming_the_served_paths_and_keeps_the_step() {
    let m = mock().await;
    script(&m, "w", json!([{"content": "scripted"}]));
    for (path, hint) in [
        ("/s/w/v1/v1/messages", "end in /v1 too many"),
        ("/s/w/chat/completions", "lack /v1?"),
        ("/s/w/v1/embeddings", ""),
    ] {
        let r = request(&m, path, &json!({"model": "m"})).await;
        assert_eq!(r.status, 404, "{path}");
        let v = r.json();
        let message = v["error"]["message"].as_str().expect("message");
        assert_eq!(v["message"], v["error"]["message"]);
        assert_eq!(v["error"]["code"], 404);
        assert!(
            message.contains(path.trim_start_matches("/s/w")),
            "{message}"
        );
        assert!(message.contains(hint), "{message}");
        for served in [
            "POST /v1/chat/completions",
            "/openai/deployments/{deployment}/chat/completions",
            "POST /v1/messages",
            "/v1beta/models/{model}:generateContent",
            "/publishers/anthropic/models/{model}:rawPredict",
            "POST /model/{model}/converse",
        ] {
            assert!(message.contains(served), "{served} in {message}");
        }
    }
    let r = request(&m, "/s/w/v1/chat/completions", &json!({})).await;
    assert_eq!(r.json()["choices"][0]["message"]["content"], "scripted");
    let log = m.requests("w");
    let seen: Vec<(&str, u16)> = log
        .iter()
        .map(|r| (r.path.as_str(), r.status().unwrap_or(0)))
        .collect();
    assert_eq!(
        seen,
        [
            ("/v1/v1/messages", 404),
            ("/chat/completions", 404),
            ("/v1/embeddings", 404),
            ("/v1/chat/completions", 200)
        ]
    );
}

#[tokio::test]
async fn a_served_path_with_another_method_is_a_405() {
    let m = mock().await;
    let r = request_with(&m, "GET", "/s/g/v1/messages", &[], b"").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert!(r.json()["error"]["message"]
        .as_str()
        .is_some_and(|s| s.contains("/v1/messages with POST only, not GET")));
}
