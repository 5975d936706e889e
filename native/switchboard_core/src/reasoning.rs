//! Reasoning an answer carries that must go back, unchanged, in the next
//! request of a tool loop: Anthropic's signed `thinking` and encrypted
//! `redacted_thinking` blocks, Bedrock's signed `reasoningText` and
//! `redactedContent`, Gemini's `thoughtSignature`s on parts other than
//! function calls (a call's own signature travels on its [`ToolCall`]).
//!
//! A signature only means something to the wire dialect that made it, so
//! each part names its [`Dialect`], and a request of another dialect leaves
//! it out (a fallback from Claude to Gemini sends no Anthropic thinking).
//!
//! [`ToolCall`]: crate::tools::ToolCall

use serde_json::{Map, Value};

use crate::value::type_name;

/// The wire dialect a reasoning part came from, and the only one it goes
/// back to. Claude on Vertex speaks [`Dialect::Anthropic`]; Claude on
/// Bedrock Converse speaks [`Dialect::Bedrock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Anthropic,
    Bedrock,
    Gemini,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Anthropic => "anthropic",
            Dialect::Bedrock => "bedrock",
            Dialect::Gemini => "gemini",
        }
    }

    fn parse(name: &str) -> Option<Dialect> {
        Some(match name {
            "anthropic" => Dialect::Anthropic,
            "bedrock" => Dialect::Bedrock,
            "gemini" => Dialect::Gemini,
            _ => return None,
        })
    }
}

/// One part of an answer's reasoning, as the provider must see it again.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasoningPart {
    pub dialect: Dialect,
    /// The reasoning text as received; empty for redacted reasoning and
    /// for a Gemini signature.
    pub text: String,
    /// The provider's signature over `text` (Anthropic, Bedrock), or a
    /// Gemini `thoughtSignature`.
    pub signature: Option<String>,
    /// Encrypted reasoning (Anthropic `redacted_thinking.data`, Bedrock
    /// `redactedContent`, base64): never shown, only sent back.
    pub redacted: Option<String>,
}

impl ReasoningPart {
    /// Signed reasoning text.
    pub fn signed(dialect: Dialect, text: &str, signature: Option<&str>) -> Self {
        ReasoningPart {
            dialect,
            text: text.to_owned(),
            signature: signature.filter(|s| !s.is_empty()).map(str::to_owned),
            redacted: None,
        }
    }

    /// Encrypted reasoning.
    pub fn redacted(dialect: Dialect, data: &str) -> Self {
        ReasoningPart {
            dialect,
            text: String::new(),
            signature: None,
            redacted: Some(data.to_owned()),
        }
    }

    /// Whether a request of `dialect` sends this part back.
    pub fn replays_in(&self, dialect: Dialect) -> bool {
        self.dialect == dialect
    }
}

/// Parses an assistant message's `reasoning_parts`: maps (or
/// `Switchboard.ReasoningPart` structs) with `dialect`, `text`, `signature`
/// and `redacted`, as `Response.reasoning_parts` holds them.
pub fn parse_reasoning_parts(value: &Value) -> Result<Vec<ReasoningPart>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "reasoning_parts must be a list, got {}",
            type_name(value)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_part(item).map_err(|e| format!("reasoning_parts[{i}]: {e}")))
        .collect()
}

fn parse_part(item: &Value) -> Result<ReasoningPart, String> {
    let map = item
        .as_object()
        .ok_or_else(|| format!("must be a map, got {}", type_name(item)))?;
    let dialect = match map.get("dialect") {
        Some(Value::String(name)) => Dialect::parse(name).ok_or_else(|| {
            format!("unknown dialect {name:?} (expected anthropic, bedrock or gemini)")
        })?,
        _ => return Err("needs a :dialect".to_owned()),
    };
    let text = optional_string(map, "text")?.unwrap_or_default();
    let signature = optional_string(map, "signature")?;
    let redacted = optional_string(map, "redacted")?;
    Ok(ReasoningPart {
        dialect,
        text,
        signature,
        redacted,
    })
}

fn optional_string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(":{key} must be a string, got {}", type_name(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parts_parse_back_and_bad_ones_say_where() {
        let parts = parse_reasoning_parts(&json!([
            {"dialect": "anthropic", "text": "Hm.", "signature": "c2ln", "redacted": null,
             "__struct__": "Elixir.Switchboard.ReasoningPart"},
            {"dialect": "bedrock", "redacted": "ZW5j"}
        ]))
        .unwrap();
        assert_eq!(
            parts,
            vec![
                ReasoningPart::signed(Dialect::Anthropic, "Hm.", Some("c2ln")),
                ReasoningPart::redacted(Dialect::Bedrock, "ZW5j"),
            ]
        );
        for (bad, says) in [
            (json!({}), "must be a list"),
            (
                json!([{"dialect": "openai"}]),
                "reasoning_parts[0]: unknown dialect",
            ),
            (json!([{"text": "x"}]), "needs a :dialect"),
            (
                json!([{"dialect": "gemini", "signature": 1}]),
                ":signature must be",
            ),
        ] {
            let e = parse_reasoning_parts(&bad).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
