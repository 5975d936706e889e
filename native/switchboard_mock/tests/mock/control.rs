//! The ETF control API, as the Elixir client uses it, and the blackhole port.

use std::time::Duration;

use crate::common::*;
use eetf::{Atom, Binary, FixInteger, List, Map, Term};
use serde_json::json;

fn atom(s: &str) -> Term {
    Term::from(Atom::from(s))
}

fn bin(s: &str) -> Term {
    Term::from(Binary::from(s.as_bytes()))
}

fn int(i: i32) -> Term {
    Term::from(FixInteger::from(i))
}

fn encode(t: &Term) -> Vec<u8> {
    let mut out = Vec::new();
    t.encode(&mut out).expect("encode");
    out
}

async fn control(m: &MockServer, method: &str, path: &str, body: &[u8]) -> Resp {
    let mut s = send(m.addr(), method, path, body).await;
    parse(&read_all(&mut s).await.bytes())
}

fn decode(r: &Resp) -> Term {
    assert_eq!(
        r.header("content-type"),
        Some("application/x-erlang-binary")
    );
    Term::decode(&r.body[..]).expect("ETF body")
}

fn get<'a>(m: &'a Term, key: &str) -> &'a Term {
    match m {
        Term::Map(map) => map
            .map
            .get(&bin(key))
            .unwrap_or_else(|| panic!("no key {key}")),
        other => panic!("not a map: {other}"),
    }
}

#[tokio::test]
async fn script_and_read_back_over_etf() {
    let m = mock().await;
    // What `:erlang.term_to_binary([%{status: 500, headers: %{"retry-after" => "1"}}, %{content: "hi", drop: false}])` sends.
    let steps = Term::from(List::from(vec![
        Term::from(Map::from([
            (atom("status"), int(500)),
            (
                atom("headers"),
                Term::from(Map::from([(bin("retry-after"), bin("1"))])),
            ),
        ])),
        Term::from(Map::from([
            (atom("content"), bin("hi")),
            (atom("drop"), atom("false")),
            (atom("usage"), atom("nil")),
        ])),
    ]));
    let r = control(&m, "PUT", "/_mock/scenarios/etf", &encode(&steps)).await;
    assert_eq!(r.status, 204);

    let r = request(
        &m,
        "/s/etf/v1/chat/completions?x=1",
        &json!({"model": "m", "n": [1, 2]}),
    )
    .await;
    assert_eq!((r.status, r.header("retry-after")), (500, Some("1")));
    let r = request(&m, "/s/etf/v1/chat/completions", &json!({"model": "m"})).await;
    assert_eq!(r.json()["choices"][0]["message"]["content"], "hi");

    let r = control(&m, "GET", "/_mock/scenarios/etf/requests", b"").await;
    let Term::List(list) = decode(&r) else {
        panic!("list expected")
    };
    assert_eq!(list.elements.len(), 2);
    let first = &list.elements[0];
    assert_eq!(get(first, "method"), &bin("POST"));
    assert_eq!(get(first, "path"), &bin("/v1/chat/completions"));
    assert_eq!(get(first, "query"), &bin("x=1"));
    assert_eq!(get(first, "outcome"), &bin("completed"));
    assert_eq!(get(first, "status"), &int(500));
    assert!(matches!(
        get(first, "received_at_us"),
        Term::FixInteger(_) | Term::BigInteger(_)
    ));
    assert!(matches!(
        get(first, "finished_at_us"),
        Term::FixInteger(_) | Term::BigInteger(_)
    ));
    let Term::List(headers) = get(first, "headers") else {
        panic!("headers list")
    };
    assert!(headers
        .elements
        .iter()
        .any(|h| matches!(h, Term::Tuple(t) if t.elements == vec![bin("x-test"), bin("yes")])));
    assert_eq!(get(first, "body"), &bin(r#"{"model":"m","n":[1,2]}"#));
    let json = get(first, "json");
    assert_eq!(get(json, "model"), &bin("m"));
    // eetf encodes a list of bytes as STRING_EXT; Erlang decodes it as [1, 2] all the same.
    match get(json, "n") {
        Term::ByteList(b) => assert_eq!(b.bytes, vec![1, 2]),
        Term::List(l) => assert_eq!(l.elements, vec![int(1), int(2)]),
        other => panic!("unexpected {other}"),
    }

    let r = control(&m, "DELETE", "/_mock/scenarios/etf", b"").await;
    assert_eq!(r.status, 204);
    let r = control(&m, "GET", "/_mock/scenarios/etf/requests", b"").await;
    assert_eq!(decode(&r), Term::from(List::nil()));
}

#[tokio::test]
async fn control_errors_are_plain_text() {
    let m = mock().await;
    let r = control(&m, "PUT", "/_mock/scenarios/x", b"not etf").await;
    assert_eq!(r.status, 400);
    let bad = encode(&Term::from(List::from(vec![Term::from(Map::from([(
        atom("stauts"),
        int(1),
    )]))])));
    let r = control(&m, "PUT", "/_mock/scenarios/x", &bad).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("stauts"), "{}", r.text());
    let r = control(
        &m,
        "PUT",
        "/_mock/scenarios/x%20y",
        &encode(&Term::from(List::nil())),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = control(&m, "GET", "/_mock/nope", b"").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn cassette_endpoint_returns_terms() {
    let dir = std::env::temp_dir().join(format!("switchboard_mock_ctl_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("a b.json");
    std::fs::write(
        &path,
        br#"{"x": [1, 2.5, null, true, "s"], "big": 9999999999}"#,
    )
    .expect("write");
    let m = mock_rooted(&dir).await;
    let encoded: String = path
        .to_str()
        .expect("utf8")
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'/' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let r = control(&m, "GET", &format!("/_mock/cassette?path={encoded}"), b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = decode(&r);
    let Term::List(x) = get(&t, "x") else {
        panic!("list")
    };
    assert_eq!(x.elements[0], int(1));
    assert!(matches!(x.elements[1], Term::Float(_)));
    assert_eq!(x.elements[2], atom("nil"));
    assert_eq!(x.elements[3], atom("true"));
    assert_eq!(x.elements[4], bin("s"));
    assert!(matches!(get(&t, "big"), Term::BigInteger(_)));
    let r = control(&m, "GET", "/_mock/cassette?path=no-such.json", b"").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn json_endpoint_decodes_its_body() {
    let m = mock().await;
    let r = control(&m, "POST", "/_mock/json", br#"{"x": [1, null]}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = decode(&r);
    let Term::List(x) = get(&t, "x") else {
        panic!("list")
    };
    assert_eq!(x.elements, [int(1), atom("nil")]);
    let r = control(&m, "POST", "/_mock/json", b"{nope").await;
    assert_eq!(r.status, 400);
    assert!(r.text().starts_with("invalid JSON"), "{}", r.text());
}

#[tokio::test]
async fn blackhole_connect_hangs() {
    let m = mock().await;
    let r = control(&m, "POST", "/_mock/blackhole", b"").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let Term::FixInteger(port) = get(&decode(&r), "port").clone() else {
        panic!("port")
    };
    let port = u16::try_from(port.value).expect("port");
    let attempt = tokio::time::timeout(
        Duration::from_millis(300),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await;
    assert!(attempt.is_err(), "connect must time out, got {attempt:?}");
    // Same port on every call.
    let r = control(&m, "POST", "/_mock/blackhole", b"").await;
    assert_eq!(get(&decode(&r), "port"), &int(i32::from(port)));
}

/// A control request with a chosen content type (`send` always says JSON).
async fn control_as(m: &MockServer, path: &str, content_type: &str, body: &[u8]) -> Resp {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(m.addr())
        .await
        .expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        m.addr(),
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    parse(&read_all(&mut s).await.bytes())
}

#[tokio::test]
async fn script_over_json() {
    let m = mock().await;
    let steps = json!([{"status": 500}, {"content": "hi", "usage": null}]);
    let r = control(
        &m,
        "PUT",
        "/_mock/scenarios/js",
        steps.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = request(&m, "/s/js/v1/chat/completions", &json!({"model": "m"})).await;
    assert_eq!(r.status, 500);
    let r = request(&m, "/s/js/v1/chat/completions", &json!({"model": "m"})).await;
    assert_eq!(r.json()["choices"][0]["message"]["content"], "hi");

    // The `{"steps": [...]}` form, a charset parameter, and `repeat: -1`.
    let steps = json!({"steps": [{"content": "again", "repeat": -1}]});
    let r = control_as(
        &m,
        "/_mock/scenarios/js",
        "Application/JSON; charset=utf-8",
        steps.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    for _ in 0..3 {
        let r = request(&m, "/s/js/v1/chat/completions", &json!({"model": "m"})).await;
        assert_eq!(r.json()["choices"][0]["message"]["content"], "again");
    }
}

#[tokio::test]
async fn a_cycled_script_starts_again_after_its_last_step() {
    let m = mock().await;
    let steps = json!({"steps": [{"content": "a", "repeat": 2}, {"status": 500}], "cycle": true});
    let r = control_as(
        &m,
        "/_mock/scenarios/cy",
        "application/json",
        steps.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = request(&m, "/s/cy/v1/chat/completions", &json!({"model": "m"})).await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500, 200]);

    let bad = json!({"steps": [{"content": "a"}], "cycle": "yes"});
    let r = control_as(
        &m,
        "/_mock/scenarios/cy",
        "application/json",
        bad.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("cycle"), "{}", r.text());
}

#[tokio::test]
async fn json_scripts_are_checked_and_etf_stays_the_default() {
    let m = mock().await;
    let r = control(&m, "PUT", "/_mock/scenarios/js", b"[{\"status\": 500").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("invalid JSON"), "{}", r.text());
    let r = control(&m, "PUT", "/_mock/scenarios/js", br#"[{"stauts": 500}]"#).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("stauts"), "{}", r.text());
    let r = control(&m, "PUT", "/_mock/scenarios/js", br#"{"status": 500}"#).await;
    assert_eq!(r.status, 400);

    // Without the JSON content type the body must be ETF.
    let json_body = br#"[{"status": 500}]"#;
    let r = control_as(&m, "/_mock/scenarios/js", "text/plain", json_body).await;
    assert_eq!(r.status, 400);
    let etf = encode(&Term::from(List::from(vec![Term::from(Map::from([(
        atom("content"),
        bin("etf"),
    )]))])));
    let r = control_as(&m, "/_mock/scenarios/js", ETF_TYPE, &etf).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = request(&m, "/s/js/v1/chat/completions", &json!({"model": "m"})).await;
    assert_eq!(r.json()["choices"][0]["message"]["content"], "etf");
}

const ETF_TYPE: &str = "application/x-erlang-binary";
