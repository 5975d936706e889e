//! The HTTP/2 connection window the engine's pooled client gives a server,
//! read where it matters: as send capacity on the server's side of a real
//! connection over 127.0.0.1.
//!
//! Bench workload (g) puts 100,000 calls on one connection. When their
//! answers arrive faster than the engine reads them and the window is
//! smaller than the answers, the server cuts them into small DATA frames
//! and h2's guard against floods of small frames closes the connection:
//! with hyper's 5 MiB default, 40,000 calls failed as `:network`
//! ("too_many_data_frames"). The burst takes tens of thousands of calls to
//! reproduce, more than a test should run, so this test holds the window.

use std::time::Duration;

use bytes::Bytes;
use switchboard_core::config::HttpSettings;
use switchboard_core::engine::transport::{self, client_for, H2_CONNECTION_WINDOW_BYTES};
use switchboard_core::wire::HttpRequest;
use tokio::net::TcpListener;

/// More streams than the window covers at hyper's 2 MiB stream window.
const STREAMS: usize = 40;

/// Bench (g): 100,000 answers of the mock's 581 bytes.
const BENCH_G_ANSWER_BYTES: usize = 100_000 * 581;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_window_holds_the_answers_of_100_000_calls() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/v1/chat", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let mut conn = h2::server::Builder::new()
            // capacity() reports at most this much per stream.
            .max_send_buffer_size(64 * 1024 * 1024)
            .handshake::<_, Bytes>(socket)
            .await
            .expect("handshake");
        let mut answers = Vec::with_capacity(STREAMS);
        while answers.len() < STREAMS {
            let (_request, mut respond) = conn
                .accept()
                .await
                .expect("a request")
                .expect("a valid request");
            let mut body = respond
                .send_response(http::Response::new(()), false)
                .expect("head");
            // Capacity is granted from what the client's window leaves, at
            // once: the client's settings and window update precede its
            // first request on the wire.
            body.reserve_capacity(usize::MAX >> 1);
            answers.push(body);
        }
        let granted: usize = answers.iter().map(|a| a.capacity()).sum();
        for mut a in answers {
            a.send_data(Bytes::from_static(b"{}"), true).expect("end");
        }
        // Serves until the client has read every answer and hangs up.
        tokio::spawn(async move { while conn.accept().await.is_some() {} });
        granted
    });

    // The calls run on their own tasks, which outlive this borrow.
    let settings: &'static HttpSettings = Box::leak(Box::new(HttpSettings {
        http2_prior_knowledge: true,
        request_timeout: Some(Duration::from_secs(60)),
        ..HttpSettings::default()
    }));
    let client = client_for(settings).expect("client");
    let url = url::Url::parse(&url).expect("url");
    let calls: Vec<_> = (0..STREAMS)
        .map(|_| {
            let request =
                HttpRequest::post_json(url.clone(), &serde_json::json!({})).expect("request");
            tokio::spawn(transport::send(&client, request, settings))
        })
        .collect();
    let granted = server.await.expect("server");
    // The server speaks only HTTP/2: an answer is one over HTTP/2.
    for call in calls {
        let answer = call.await.expect("join").expect("answer");
        assert_eq!(answer.head.status, 200);
        assert_eq!(&answer.body[..], b"{}");
    }

    assert_eq!(granted, H2_CONNECTION_WINDOW_BYTES as usize);
    assert!(granted >= BENCH_G_ANSWER_BYTES, "{granted} bytes");
}
