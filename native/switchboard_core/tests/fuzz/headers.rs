//! `Retry-After` (seconds, milliseconds, HTTP dates): any header value is
//! a bounded delay or no hint.

use std::time::Duration;

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};
use switchboard_core::retry::parse_retry_after;

use crate::mutate::{apply, mutations};

const SEEDS: &[&str] = &[
    "120",
    "0",
    "1.5",
    "1e9",
    "-1",
    "NaN",
    "inf",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 01 Jan 2099 00:00:00 GMT",
];

/// The longest hint read: beyond it a header is no hint at all.
const LONGEST: Duration = Duration::from_secs(1_000_000_000);

#[test]
fn any_retry_after_is_a_bounded_delay_or_none() {
    let seeds: Vec<&[u8]> = SEEDS.iter().map(|s| s.as_bytes()).collect();
    crate::runner()
        .run(
            &(0..SEEDS.len(), mutations(), any::<bool>()),
            |(seed, m, in_ms)| {
                let value = apply(seeds[seed], &m, &seeds);
                let Ok(value) = HeaderValue::from_bytes(&value) else {
                    return Ok(());
                };
                let mut headers = HeaderMap::new();
                let name = if in_ms {
                    "retry-after-ms"
                } else {
                    "retry-after"
                };
                headers.insert(name, value.clone());
                if let Some(delay) = parse_retry_after(&headers) {
                    prop_assert!(delay < LONGEST, "{:?} -> {:?}", value, delay);
                    // Something a deadline can be computed from.
                    prop_assert!(tokio::time::Instant::now().checked_add(delay).is_some());
                }
                Ok(())
            },
        )
        .unwrap();
}
