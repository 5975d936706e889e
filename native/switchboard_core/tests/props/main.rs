//! Property tests (proptest, stable Rust) of what Switchboard reads from
//! outside: every stream reader gives the same answer however the bytes
//! are split into reads, event orders providers do not promise keep the
//! stop reason, and the config validator never panics and accepts only
//! configs whose every client builds a request.
//!
//! Cases per property: `SWITCHBOARD_PROP_CASES` (default 64). Recordings
//! come from `../shared/conformance`; without it those tests say so and
//! pass, and the generated cases still run.

mod config;
#[allow(dead_code)] // shared with tests/fuzz, which reads more of it
mod corpus;
#[allow(dead_code)]
mod harness;
mod order;
mod script;
mod split;

/// Cases per property, from `SWITCHBOARD_PROP_CASES`.
pub fn cases() -> u32 {
    std::env::var("SWITCHBOARD_PROP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// A proptest runner with [`cases`] cases, its seed fixed by
/// `PROPTEST_RNG_SEED` when set (to replay a failure) and random otherwise.
pub fn runner(cases: u32) -> proptest::test_runner::TestRunner {
    let config = proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    };
    proptest::test_runner::TestRunner::new(config)
}
