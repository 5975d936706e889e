//! However the network cuts a body into reads, the caller sees the same
//! answer: the same text, reasoning, tool calls, finish reason and usage,
//! or the same error.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::corpus;
use crate::harness::{cut, read, reader, Reading, DIALECTS};
use crate::script::{encode, script, stop_reason};

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..=len, 0..12)
}

#[test]
fn every_recorded_stream_reads_the_same_however_split() {
    let streams = corpus::streams();
    if streams.is_empty() {
        println!("skipped: no recorded streams (the conformance corpus is absent)");
        return;
    }
    let mut answers = 0;
    for stream in streams {
        let reader = reader(stream.dialect);
        let body = stream.body();
        let whole = read(reader, &[&body]);
        answers += usize::from(whole.is_answer());
        let recorded: Vec<&[u8]> = stream.reads.iter().map(Vec::as_slice).collect();
        assert_eq!(
            read(reader, &recorded),
            whole,
            "{} as recorded",
            stream.name
        );
        let bytewise: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(
            read(reader, &bytewise),
            whole,
            "{} byte by byte",
            stream.name
        );
        let cases = (crate::cases() / 4).max(4);
        crate::runner(cases)
            .run(&cuts(body.len()), |at| {
                let split = read(reader, &cut(&body, &at));
                if split != whole {
                    return Err(TestCaseError::fail(format!(
                        "{} cut at {at:?}:\n  split {split:?}\n  whole {whole:?}",
                        stream.name
                    )));
                }
                Ok(())
            })
            .unwrap();
    }
    // Most recordings are answers; the rest fail the same way each time.
    assert!(
        answers * 2 > streams.len(),
        "{answers} of {}",
        streams.len()
    );
    println!("{} recorded streams, {answers} answers", streams.len());
}

#[test]
fn every_generated_stream_reads_its_answer_however_split() {
    let strategy = (
        prop::sample::select(DIALECTS.to_vec()),
        script(),
        cuts(usize::MAX - 1),
    );
    crate::runner(crate::cases())
        .run(&strategy, |(dialect, script, at)| {
            let reader = reader(dialect);
            let body = encode(dialect, &script);
            let whole = read(reader, &[&body]);
            let Reading::Answer {
                text, completion, ..
            } = &whole
            else {
                return Err(TestCaseError::fail(format!("{dialect:?}: {whole:?}")));
            };
            prop_assert_eq!(text, &script.text(), "{:?} forwarded", dialect);
            prop_assert_eq!(&completion.content, &script.text(), "{:?}", dialect);
            prop_assert_eq!(
                completion.finish_reason.as_deref(),
                Some(stop_reason(dialect)),
                "{:?}",
                dialect
            );
            prop_assert_eq!(completion.usage.input_tokens, Some(script.input_tokens));
            prop_assert_eq!(completion.usage.output_tokens, Some(script.output_tokens));
            let split = read(reader, &cut(&body, &at));
            prop_assert_eq!(split, whole, "{:?} cut at {:?}", dialect, at);
            Ok(())
        })
        .unwrap();
}
