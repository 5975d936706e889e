//! Mutated streams through the framings and every dialect's reader.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseError;
use switchboard_core::framing::{FrameDecoder, Framing};
use switchboard_core::ErrorKind;

use crate::corpus;
use crate::harness::{cut, read, reader, Dialect, Reading, DIALECTS};
use crate::mutate::{apply, mutations};
use crate::script::{encode, script};

/// Seeds: every recorded stream with its dialect, and one generated
/// stream per dialect (so the run has seeds without the corpus too).
fn seeds() -> Vec<(Dialect, Vec<u8>)> {
    let mut out: Vec<(Dialect, Vec<u8>)> = corpus::streams()
        .iter()
        .map(|s| (s.dialect, s.body()))
        .collect();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for dialect in DIALECTS {
        let s = script().new_tree(&mut runner).expect("script").current();
        out.push((dialect, encode(dialect, &s)));
    }
    out
}

/// A mutated stream is an answer or an error, the same one however its
/// bytes are split, in its own dialect and in every other.
#[test]
fn mutated_streams_read_to_one_outcome() {
    let seeds = seeds();
    let bodies: Vec<&[u8]> = seeds.iter().map(|(_, b)| b.as_slice()).collect();
    let strategy = (
        0..seeds.len(),
        mutations(),
        prop::collection::vec(any::<usize>(), 0..8),
        prop::sample::select(DIALECTS.to_vec()),
    );
    crate::runner()
        .run(&strategy, |(seed, m, at, other)| {
            let (dialect, seed) = &seeds[seed];
            let body = apply(seed, &m, &bodies);
            for dialect in [*dialect, other] {
                let whole = read(reader(dialect), &[&body]);
                let split = read(reader(dialect), &cut(&body, &at));
                prop_assert_eq!(&split, &whole, "{:?} cut at {:?}", dialect, at);
                if let Reading::Answer {
                    text, completion, ..
                } = &whole
                {
                    prop_assert_eq!(text, &completion.content);
                }
            }
            Ok(())
        })
        .unwrap();
}

/// A stream cut short is never an answer it did not finish: for the
/// dialects with an end signal, a prefix reads to the whole answer (the
/// cut fell after the end) or fails.
#[test]
fn cut_streams_never_pass_for_whole_ones() {
    let seeds: Vec<(Dialect, Vec<u8>)> = seeds()
        .into_iter()
        .filter(|(d, body)| *d != Dialect::Gemini && read(reader(*d), &[body]).is_answer())
        .collect();
    crate::runner()
        .run(&(0..seeds.len(), any::<usize>()), |(seed, at)| {
            let (dialect, body) = &seeds[seed];
            let whole = read(reader(*dialect), &[body]);
            let at = at % body.len();
            let prefix = read(reader(*dialect), &[&body[..at]]);
            match &prefix {
                Reading::Failed(kind, _) => {
                    prop_assert!(
                        matches!(kind, ErrorKind::Network | ErrorKind::BadResponse),
                        "{:?} cut at {}: {:?}",
                        dialect,
                        at,
                        prefix
                    );
                }
                // A Bedrock stream the server ends after `messageStop`
                // (or `metadata`) is whole without the other event, by
                // design (providers/bedrock_stream.rs): its text and calls
                // must be all there, its usage or stop reason may not.
                Reading::Answer {
                    text,
                    calls,
                    completion,
                    ..
                } if *dialect == Dialect::Bedrock => {
                    let Reading::Answer {
                        completion: full, ..
                    } = &whole
                    else {
                        unreachable!("the seeds are answers");
                    };
                    prop_assert_eq!(text, &full.content, "cut at {}", at);
                    prop_assert_eq!(&completion.content, &full.content);
                    prop_assert_eq!(&completion.tool_calls, &full.tool_calls);
                    prop_assert_eq!(calls.len(), full.tool_calls.len());
                }
                answer => {
                    if answer != &whole {
                        return Err(TestCaseError::fail(format!(
                            "{dialect:?} cut at {at} of {}: {answer:?}\nwhole: {whole:?}",
                            body.len()
                        )));
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

/// The framings alone, on mutated bytes of every seed: no panic, no event
/// larger than the limit.
#[test]
fn mutated_bytes_through_every_framing() {
    let seeds = seeds();
    let bodies: Vec<&[u8]> = seeds.iter().map(|(_, b)| b.as_slice()).collect();
    let framings = [Framing::Sse, Framing::SseBareLines, Framing::AwsEventStream];
    crate::runner()
        .run(
            &(
                0..seeds.len(),
                mutations(),
                prop::sample::select(framings.to_vec()),
            ),
            |(seed, m, framing)| {
                let body = apply(bodies[seed], &m, &bodies);
                let mut decoder = FrameDecoder::new(framing);
                let mut frames = Vec::new();
                let fed = decoder.feed(&body, &mut frames);
                let finished = decoder.finish(&mut frames);
                for r in [fed, finished] {
                    if let Err(e) = r {
                        prop_assert!(
                            matches!(e.kind, ErrorKind::BadResponse | ErrorKind::Network),
                            "{e:?}"
                        );
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}
