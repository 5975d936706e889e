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

use crate::error::Error;
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

    /// Encrypted reasoning as an answer holds it. Without its data it
    /// cannot go back (the provider refuses an empty block), and leaving
    /// it out would change the turn it belongs to, so the answer fails as
    /// one with a part Switchboard cannot read.
    pub fn read_redacted(dialect: Dialect, data: Option<&str>) -> Result<Self, Error> {
        let data = data.unwrap_or_default();
        check_redacted(data)?;
        Ok(ReasoningPart::redacted(dialect, data))
    }
}

/// Encrypted reasoning of an answer must have data (see
/// [`ReasoningPart::read_redacted`]); a stream checks it once the pieces
/// are all in.
pub fn check_redacted(data: &str) -> Result<(), Error> {
    match data.is_empty() {
        false => Ok(()),
        true => Err(Error::unread_part(
            "the answer has redacted reasoning without its data, which cannot be sent back",
        )),
    }
}

impl ReasoningPart {
    /// Whether a request of `dialect` sends this part back.
    pub fn replays_in(&self, dialect: Dialect) -> bool {
        self.dialect == dialect
    }

    /// What of this part goes back to Anthropic or Bedrock: its encrypted
    /// data, else its text with the signature. `None` for a part the
    /// provider cannot verify (unsigned text) or would refuse (empty
    /// encrypted data), which is left out rather than failing the request.
    pub fn replay(&self) -> Option<Replay<'_>> {
        match (self.redacted.as_deref(), self.signature.as_deref()) {
            (Some(""), _) => None,
            (Some(data), _) => Some(Replay::Redacted(data)),
            (None, Some(signature)) => Some(Replay::Signed {
                text: &self.text,
                signature,
            }),
            (None, None) => None,
        }
    }
}

/// A reasoning part as it goes back (see [`ReasoningPart::replay`]); each
/// dialect writes it as its own block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay<'a> {
    /// Encrypted reasoning, base64, sent back unread.
    Redacted(&'a str),
    /// Reasoning text and the provider's signature over it.
    Signed { text: &'a str, signature: &'a str },
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
    fn what_goes_back_is_the_data_or_the_signed_text_never_nothing_or_unsigned() {
        let redacted = ReasoningPart::redacted(Dialect::Anthropic, "ZW5j");
        assert_eq!(redacted.replay(), Some(Replay::Redacted("ZW5j")));
        let signed = ReasoningPart::signed(Dialect::Bedrock, "Hm.", Some("c2ln"));
        assert_eq!(
            signed.replay(),
            Some(Replay::Signed {
                text: "Hm.",
                signature: "c2ln"
            })
        );
        for left_out in [
            ReasoningPart::redacted(Dialect::Anthropic, ""),
            ReasoningPart::signed(Dialect::Anthropic, "Hm.", None),
            ReasoningPart::signed(Dialect::Anthropic, "Hm.", Some("")),
        ] {
            assert_eq!(left_out.replay(), None, "{left_out:?}");
        }
    }

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
