//! The README's "BAML client options" table names every option Switchboard
//! reads itself, for every provider that reads it: an option cannot be
//! added to the code (and so be taken out of the request body) without a
//! row saying what it does. The ExUnit test `baml_option_table_test.exs`
//! walks the same table the other way, building a client for each row.

use std::collections::{BTreeMap, BTreeSet};

use switchboard_core::config::{FALLBACK_OPTIONS, LEAF_HTTP_OPTIONS, ROUND_ROBIN_OPTIONS};
use switchboard_core::providers::spec::{SpecKind, COMMON_NON_BODY_OPTIONS, PROVIDERS};
use switchboard_core::providers::ALIAS_OPTIONS;
use switchboard_core::retry::{
    CONSTANT_DELAY_OPTIONS, EXPONENTIAL_BACKOFF_OPTIONS, POLICY_OPTIONS,
};

const SECTION: &str = "### BAML client options";

/// The HTTP providers, which `all` stands for in the table.
fn leaf_providers() -> Vec<&'static str> {
    PROVIDERS
        .iter()
        .filter(|s| matches!(s.kind, SpecKind::Leaf(_)))
        .map(|s| s.name)
        .collect()
}

/// Option name (as written, `http.idle_timeout_ms` included) => the
/// providers (or `retry policy`) some row gives it for.
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md beside the project");
    let start = readme
        .find(SECTION)
        .expect("the README has the option table section");
    let section = &readme[start + SECTION.len()..];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    let mut rows: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen_rows = 0;
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 4, "a row has 4 cells: {line}");
        if cells[0].trim() == "option" {
            continue;
        }
        seen_rows += 1;
        let providers: Vec<String> = match cells[1].trim() {
            "all" => leaf_providers().into_iter().map(str::to_owned).collect(),
            "retry policy" => vec!["retry policy".to_owned()],
            listed => ticked(listed),
        };
        assert!(!providers.is_empty(), "a row names its providers: {line}");
        for option in ticked(cells[0]) {
            rows.entry(option)
                .or_default()
                .extend(providers.iter().cloned());
        }
    }
    assert!(seen_rows > 40, "the table was read ({seen_rows} rows)");
    rows
}

/// The `backticked` names of a cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn assert_row(rows: &BTreeMap<String, BTreeSet<String>>, option: &str, provider: &str) {
    let has = rows.get(option).is_some_and(|p| p.contains(provider));
    assert!(
        has,
        "README \"BAML client options\" has no row for option {option:?} on {provider:?}: \
         add one saying what it does"
    );
}

#[test]
fn every_option_switchboard_reads_has_a_row_for_its_providers() {
    let rows = table();
    for provider in leaf_providers() {
        for option in COMMON_NON_BODY_OPTIONS {
            assert_row(&rows, option, provider);
        }
        for key in LEAF_HTTP_OPTIONS {
            assert_row(&rows, &format!("http.{key}"), provider);
        }
    }
    for spec in PROVIDERS {
        for option in spec.routing_options {
            assert_row(&rows, option, spec.name);
        }
    }
    for (provider, option) in ALIAS_OPTIONS {
        assert_row(&rows, option, provider);
    }
    for option in FALLBACK_OPTIONS {
        let option = if *option == "http" {
            "http.total_timeout_ms"
        } else {
            option
        };
        assert_row(&rows, option, "fallback");
    }
    for option in ROUND_ROBIN_OPTIONS {
        let option = if *option == "http" {
            "http.total_timeout_ms"
        } else {
            option
        };
        assert_row(&rows, option, "round-robin");
    }
    for option in POLICY_OPTIONS.iter().filter(|o| **o != "strategy") {
        assert_row(&rows, option, "retry policy");
    }
    for key in CONSTANT_DELAY_OPTIONS
        .iter()
        .chain(EXPONENTIAL_BACKOFF_OPTIONS)
    {
        assert_row(&rows, &format!("strategy.{key}"), "retry policy");
    }
}

#[test]
fn every_row_names_known_providers() {
    let known: BTreeSet<&str> = PROVIDERS
        .iter()
        .map(|s| s.name)
        .chain(["retry policy"])
        .collect();
    for (option, providers) in table() {
        for p in providers {
            assert!(
                known.contains(p.as_str()),
                "row {option:?} names {p:?}, not a provider"
            );
        }
    }
}
