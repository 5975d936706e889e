//! Byte-mutation fuzzing on the stable toolchain: proptest draws a seed
//! from the recorded traffic in `../shared/conformance` (and generated
//! streams), mutates it (bit flips, bytes that matter to the formats,
//! cuts, repeats, splices of two seeds) and runs every decoder of outside
//! data on the result. The outcome checked: no panic, and an error or a
//! value, never a success read from bytes that were not there.
//!
//! Inputs per target: `SWITCHBOARD_FUZZ_CASES` (default 256: seconds in
//! `cargo test`); docs/testing.md has a longer run's figures.

#[allow(dead_code)] // shared with tests/props
#[path = "../props/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "../props/harness.rs"]
mod harness;
mod mutate;
#[allow(dead_code)]
#[path = "../props/script.rs"]
mod script;

mod answers;
mod credentials;
mod event_stream;
mod headers;
mod streams;

/// Inputs per target, from `SWITCHBOARD_FUZZ_CASES`.
pub fn cases() -> u32 {
    std::env::var("SWITCHBOARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

pub fn runner() -> proptest::test_runner::TestRunner {
    proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: cases(),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })
}
