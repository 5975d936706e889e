//! AWS event-stream frames and their CRCs: a changed byte in a message is
//! always found, and mutated frames decode to messages or an error.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use switchboard_core::framing::event_stream::EventStreamDecoder;

use crate::corpus;
use crate::harness::Dialect;
use crate::mutate::{apply, mutations};
use crate::script::{encode, script};

/// Valid event-stream bodies: Bedrock recordings, the valid vectors and
/// generated Bedrock streams.
fn valid() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = corpus::streams()
        .iter()
        .filter(|s| s.dialect == Dialect::Bedrock)
        .map(|s| s.body())
        .collect();
    out.extend(
        corpus::event_stream_vectors()
            .into_iter()
            .filter(|(name, bytes)| decode(bytes).is_ok() && !name.contains("invalid"))
            .map(|(_, b)| b),
    );
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let s = script().new_tree(&mut runner).expect("script").current();
    out.push(encode(Dialect::Bedrock, &s));
    out
}

fn decode(bytes: &[u8]) -> Result<usize, switchboard_core::Error> {
    let mut decoder = EventStreamDecoder::new();
    let mut n = 0;
    decoder.feed(bytes, &mut |_| n += 1)?;
    decoder.finish()?;
    Ok(n)
}

#[test]
fn a_changed_byte_is_always_found() {
    let valid = valid();
    crate::runner()
        .run(
            &(0..valid.len(), any::<usize>(), 1u8..=255),
            |(seed, at, xor)| {
                let mut body = valid[seed].clone();
                let at = at % body.len();
                body[at] ^= xor;
                let decoded = decode(&body);
                prop_assert!(decoded.is_err(), "byte {} ^ {:#x}: {:?}", at, xor, decoded);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn mutated_frames_are_messages_or_an_error() {
    let mut seeds = valid();
    seeds.extend(corpus::event_stream_vectors().into_iter().map(|(_, b)| b));
    let bodies: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    crate::runner()
        .run(&(0..seeds.len(), mutations()), |(seed, m)| {
            let body = apply(bodies[seed], &m, &bodies);
            let whole = decode(&body).map_err(|e| e.kind);
            let mut decoder = EventStreamDecoder::new();
            let mut n = 0;
            let bytewise = body
                .chunks(7)
                .try_for_each(|piece| decoder.feed(piece, &mut |_| n += 1))
                .and_then(|()| decoder.finish())
                .map(|()| n)
                .map_err(|e| e.kind);
            prop_assert_eq!(bytewise, whole);
            Ok(())
        })
        .unwrap();
}
