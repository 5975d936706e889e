//! How long decoding and parsing a recorded answer takes: ignored tests
//! that print their timings and assert nothing about them.
//!
//! ```sh
//! cargo test --release -p switchboard_core --lib framing::timing -- --ignored --nocapture
//! ```
//!
//! The recordings are the mock's answers to the bench's workloads (b) and
//! (a): 20 content deltas as an OpenAI Responses stream (8 KB) and as a
//! Chat Completions stream (5 KB), and a 20-word chat answer.

use std::hint::black_box;
use std::time::Duration;

use http::HeaderMap;
use serde_json::json;

use super::{Frame, FrameDecoder, Framing};
use crate::providers::golden;
use crate::wire::{Deltas, ResponseHead};

const RESPONSES_STREAM: &[u8] = include_bytes!("testdata/responses-20-deltas.sse");
const CHAT_STREAM: &[u8] = include_bytes!("testdata/chat-20-deltas.sse");
const CHAT_ANSWER: &[u8] = include_bytes!("testdata/chat-20-words.json");

/// This thread's CPU time: on a machine that other work shares, wall time
/// would count the time the thread waited for a core.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes the one timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The median of seven rounds of `per_round` runs, per run, in CPU time.
fn median_per_run(per_round: u32, mut run: impl FnMut()) -> Duration {
    let mut rounds: Vec<Duration> = (0..7)
        .map(|_| {
            let start = thread_cpu();
            for _ in 0..per_round {
                run();
            }
            (thread_cpu() - start) / per_round
        })
        .collect();
    rounds.sort();
    rounds[3]
}

/// The stream cut into reads of `read` bytes; 0: one read per event, as
/// the mock writes them.
fn reads(body: &[u8], read: usize) -> Vec<&[u8]> {
    if read > 0 {
        return body.chunks(read).collect();
    }
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(end) = rest.windows(2).position(|w| w == b"\n\n") {
        let (event, tail) = rest.split_at(end + 2);
        out.push(event);
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn decode(pieces: &[&[u8]], frames: &mut Vec<Frame>) -> usize {
    let mut decoder = FrameDecoder::new(Framing::Sse);
    let mut count = 0;
    for piece in pieces {
        decoder.feed(piece, frames).expect("feed");
        count += frames.len();
        for frame in frames.drain(..) {
            decoder.recycle(frame);
        }
    }
    decoder.finish(frames).expect("finish");
    count + frames.drain(..).count()
}

fn report(what: &str, bytes: usize, took: Duration) {
    let ns_per_byte = took.as_nanos() as f64 / bytes as f64;
    println!(
        "{what:<52} {:>8.2} µs  {ns_per_byte:>5.2} ns/byte",
        took.as_secs_f64() * 1e6
    );
}

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn sse_decoder_timing() {
    for (name, body) in [("responses", RESPONSES_STREAM), ("chat", CHAT_STREAM)] {
        for (label, read) in [
            ("one read", body.len()),
            ("1460-byte reads", 1460),
            ("one read per event", 0),
            ("64-byte reads", 64),
        ] {
            let pieces = reads(body, read);
            let mut frames = Vec::new();
            let took = median_per_run(2000, || {
                black_box(decode(black_box(&pieces), &mut frames));
            });
            report(
                &format!("decode {name} {} B, {label}", body.len()),
                body.len(),
                took,
            );
        }
    }
}

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn stream_parse_timing() {
    for (provider, body) in [
        ("openai-responses", RESPONSES_STREAM),
        ("openai", CHAT_STREAM),
    ] {
        let p = golden::provider(provider, json!({"model": "m", "api_key": "k"}));
        let pieces = reads(body, 0);
        let took = median_per_run(2000, || {
            let mut decoder = FrameDecoder::new(Framing::Sse);
            let mut parser = p.stream_parser();
            let (mut frames, mut deltas) = (Vec::new(), Deltas::default());
            for piece in &pieces {
                decoder.feed(piece, &mut frames).expect("feed");
                for frame in frames.drain(..) {
                    parser.frame(&frame, &mut deltas).expect("frame");
                    decoder.recycle(frame);
                }
                deltas.clear();
            }
            decoder.finish(&mut frames).expect("finish");
            black_box(parser.finish().expect("complete"));
        });
        report(
            &format!("decode + parse {provider} stream, read per event"),
            body.len(),
            took,
        );
    }
}

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn plain_parse_timing() {
    let p = golden::provider("openai", json!({"model": "m", "api_key": "k"}));
    let head = ResponseHead {
        status: 200,
        headers: HeaderMap::new(),
    };
    let took = median_per_run(20_000, || {
        black_box(
            p.parse_response(&head, black_box(CHAT_ANSWER))
                .expect("parse"),
        );
    });
    report("parse openai chat answer", CHAT_ANSWER.len(), took);
}
