//! Replay steps and the control API read files only under the mock's root.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::json;

const SSE: &str = "data: {\"a\":1}\n\n";

/// `<tmp>/root/in.sse`, `<tmp>/outside.sse` and `<tmp>/root/link.sse`
/// pointing at the outside file.
fn layout(name: &str) -> (PathBuf, PathBuf) {
    let base = std::env::temp_dir().join(format!(
        "switchboard_mock_files_{name}_{}",
        std::process::id()
    ));
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).expect("folders");
    std::fs::write(root.join("in.sse"), SSE).expect("inside");
    std::fs::write(base.join("outside.sse"), SSE).expect("outside");
    let link = root.join("link.sse");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(base.join("outside.sse"), &link).expect("symlink");
    (base, root)
}

fn refusal(m: &MockServer, path: &Path) -> String {
    let step = json!({"replay_file": path.to_str().expect("utf8")});
    m.script("f", &[step]).expect_err("refused")
}

#[tokio::test]
async fn files_under_the_root_are_read_relative_or_absolute() {
    let (_, root) = layout("ok");
    let m = mock_rooted(&root).await;
    let absolute = root.join("in.sse");
    for path in ["in.sse", absolute.to_str().expect("utf8")] {
        script(&m, "f", json!([{"replay_file": path}]));
        let r = request(&m, "/s/f/v1/chat/completions", &json!({})).await;
        assert_eq!(r.text(), SSE, "{path}");
    }
}

#[tokio::test]
async fn files_outside_the_root_are_refused() {
    let (base, root) = layout("out");
    let m = mock_rooted(&root).await;
    let e = refusal(&m, &base.join("outside.sse"));
    assert!(e.contains("outside the mock's root"), "{e}");
    let e = refusal(&m, Path::new("../outside.sse"));
    assert!(e.contains("\"..\" are refused"), "{e}");
    // Even one that would land inside: `..` says the caller meant to leave.
    let e = refusal(&m, Path::new("sub/../in.sse"));
    assert!(e.contains("\"..\" are refused"), "{e}");
    let e = refusal(&m, Path::new("link.sse"));
    assert!(e.contains("outside the mock's root"), "{e}");
    let e = refusal(&m, Path::new("/etc/passwd"));
    assert!(e.contains("outside the mock's root"), "{e}");
    let e = refusal(&m, Path::new("/nonexistent/file"));
    assert!(e.contains("outside the mock's root"), "{e}");
    let e = refusal(&m, Path::new("missing.sse"));
    assert!(
        e.contains("missing.sse") && e.contains("under the root"),
        "{e}"
    );
}

#[tokio::test]
async fn without_a_root_no_file_is_read_and_the_error_says_how_to_name_one() {
    let (_, root) = layout("none");
    let m = mock().await;
    let e = refusal(&m, &root.join("in.sse"));
    assert!(e.contains("--root") && e.contains("root:"), "{e}");
}

#[tokio::test]
async fn the_control_apis_file_readers_answer_403_outside_the_root() {
    let (base, root) = layout("ctl");
    std::fs::write(root.join("a.json"), r#"{"a": 1}"#).expect("json");
    std::fs::write(base.join("b.json"), r#"{"b": 1}"#).expect("json");
    let m = mock_rooted(&root).await;
    let get = |path: String| {
        let m = &m;
        async move {
            let query: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
            request_with(m, "GET", &format!("/_mock/cassette?path={query}"), &[], b"").await
        }
    };
    assert_eq!(get("a.json".into()).await.status, 200);
    for refused in [
        base.join("b.json").display().to_string(),
        "../b.json".into(),
    ] {
        let r = get(refused.clone()).await;
        assert_eq!(r.status, 403, "{refused}");
        assert!(r.text().contains("was not read"), "{}", r.text());
    }
}
