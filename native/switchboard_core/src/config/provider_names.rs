//! What an unknown provider name is answered with: the nearest known name,
//! when one is near, and every known name.

use crate::providers::spec::PROVIDERS;
use crate::value::shown;

/// `unknown provider "azure"; did you mean "azure-openai"? (known: ...)`.
pub fn unknown_provider(name: &str) -> String {
    let known: Vec<&str> = PROVIDERS.iter().map(|s| s.name).collect();
    let hint = nearest(name)
        .map(|n| format!("; did you mean {n:?}?"))
        .unwrap_or_default();
    format!(
        "unknown provider {}{hint} (known: {})",
        shown(name),
        known.join(", ")
    )
}

/// The canonical name of the provider `name` most likely meant: one whose
/// name or alias holds it or is held by it (`azure`, `bedrock`), else the
/// one within a few typos (`anthropc`, `olama`).
pub fn nearest(name: &str) -> Option<&'static str> {
    let wanted = name.trim().to_ascii_lowercase();
    if wanted.len() < 3 || wanted.len() > 64 {
        return None;
    }
    let names = || {
        PROVIDERS.iter().flat_map(|s| {
            std::iter::once(s.name)
                .chain(s.aliases.iter().copied())
                .map(move |n| (s.name, n))
        })
    };
    let part = names()
        .filter(|(_, n)| n.contains(wanted.as_str()) || wanted.contains(n))
        .min_by_key(|(_, n)| n.len().abs_diff(wanted.len()));
    if let Some((canonical, _)) = part {
        return Some(canonical);
    }
    let most_typos = (wanted.len() / 3).max(1);
    names()
        .map(|(canonical, n)| (canonical, edit_distance(&wanted, n)))
        .filter(|(_, d)| *d <= most_typos)
        .min_by_key(|(_, d)| *d)
        .map(|(canonical, _)| canonical)
}

/// Levenshtein distance over bytes (provider names are ASCII), one row.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_provider_is_suggested() {
        for (given, meant) in [
            ("azure", "azure-openai"),
            ("bedrock", "aws-bedrock"),
            ("anthropc", "anthropic"),
            ("olama", "ollama"),
            ("OpenAI", "openai"),
            ("vertex", "vertex-ai"),
            ("openrouter-ai", "openrouter"),
        ] {
            assert_eq!(nearest(given), Some(meant), "{given}");
        }
        assert_eq!(nearest("gpt-magic"), None);
        assert_eq!(nearest("x"), None);
    }

    #[test]
    fn the_message_lists_every_known_provider() {
        let m = unknown_provider("azure");
        assert!(
            m.starts_with(
                "unknown provider \"azure\"; did you mean \"azure-openai\"? (known: openai, "
            ),
            "{m}"
        );
        assert!(
            m.contains("aws-bedrock") && m.contains("round-robin"),
            "{m}"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
