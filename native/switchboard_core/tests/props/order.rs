//! Providers do not promise the order of a stream's last events: usage may
//! come before or after the event that stops the answer (OpenAI's usage
//! chunk, Bedrock's `metadata`, Anthropic's and Gemini's usage in an event
//! of its own). Either order keeps the stop reason and the usage.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::harness::{read, reader, Reading, DIALECTS};
use crate::script::{encode, script, stop_reason};

#[test]
fn usage_before_or_after_the_stop_keeps_both() {
    let strategy = (
        prop::sample::select(DIALECTS.to_vec()),
        script(),
        any::<bool>(),
    );
    crate::runner(crate::cases())
        .run(&strategy, |(dialect, mut script, usage_first)| {
            script.usage_first = usage_first;
            let reading = read(reader(dialect), &[&encode(dialect, &script)]);
            let Reading::Answer { completion, .. } = reading else {
                return Err(TestCaseError::fail(format!("{dialect:?}: {reading:?}")));
            };
            prop_assert_eq!(
                completion.finish_reason.as_deref(),
                Some(stop_reason(dialect)),
                "{:?} usage first: {}",
                dialect,
                usage_first
            );
            prop_assert_eq!(completion.usage.input_tokens, Some(script.input_tokens));
            prop_assert_eq!(completion.usage.output_tokens, Some(script.output_tokens));
            Ok(())
        })
        .unwrap();
}
