//! The provider-neutral conversation a call sends.

use serde_json::Value;

use crate::error::Error;
use crate::value::type_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// An image by URL; `data:` URLs carry the bytes inline.
    ImageUrl(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Content,
}

impl Message {
    pub fn user(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: Content::Text(text.into()),
        }
    }

    /// The text of the message, parts joined; images are left out.
    pub fn text(&self) -> String {
        match &self.content {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text(t) => Some(t.as_str()),
                    Part::ImageUrl(_) => None,
                })
                .collect(),
        }
    }
}

/// Splits a prompt into its leading system messages and the turns after
/// them, for APIs that take the system prompt apart from the turns; a
/// system message after the first turn is an `:invalid_request` error
/// naming `provider`.
pub fn split_system<'a>(
    messages: &'a [Message],
    provider: &str,
) -> Result<(&'a [Message], &'a [Message]), Error> {
    let leading = messages
        .iter()
        .take_while(|m| m.role == Role::System)
        .count();
    let (system, turns) = messages.split_at(leading);
    if turns.iter().any(|m| m.role == Role::System) {
        return Err(Error::invalid_request(format!(
            "{provider} accepts system messages only at the start of the prompt"
        )));
    }
    Ok((system, turns))
}

/// Splits `data:image/png;base64,AAAA` into its media type and data.
pub fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// Parses a prompt: a string (one user message) or a list of
/// `%{role, content}` maps whose content is a string or a list of parts.
pub fn parse_prompt(prompt: &Value) -> Result<Vec<Message>, Error> {
    let messages = match prompt {
        Value::String(text) => vec![Message::user(text.clone())],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_message(i, item))
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(Error::invalid_request(format!(
                "prompt must be a string or a list of messages, got {}",
                type_name(other)
            )))
        }
    };
    if messages.is_empty() {
        return Err(Error::invalid_request("prompt has no messages"));
    }
    if messages.iter().all(|m| m.role == Role::System) {
        return Err(Error::invalid_request(
            "prompt has only system messages; add a user message",
        ));
    }
    Ok(messages)
}

fn parse_message(index: usize, item: &Value) -> Result<Message, Error> {
    let at = |what: &str| Error::invalid_request(format!("prompt message {index}: {what}"));
    let map = item
        .as_object()
        .ok_or_else(|| at(&format!("must be a map, got {}", type_name(item))))?;
    let role = match map.get("role") {
        Some(Value::String(r)) if r == "system" => Role::System,
        Some(Value::String(r)) if r == "user" => Role::User,
        Some(Value::String(r)) if r == "assistant" => Role::Assistant,
        Some(Value::String(_)) => {
            return Err(at(
                "role must be one of \"system\", \"user\", \"assistant\"",
            ))
        }
        Some(other) => {
            return Err(at(&format!(
                "role must be a string, got {}",
                type_name(other)
            )))
        }
        None => return Err(at("missing :role")),
    };
    let content = match map.get("content") {
        Some(Value::String(text)) => Content::Text(text.clone()),
        Some(Value::Array(parts)) => Content::Parts(
            parts
                .iter()
                .enumerate()
                .map(|(j, p)| parse_part(p).map_err(|e| at(&format!("content part {j}: {e}"))))
                .collect::<Result<_, _>>()?,
        ),
        Some(other) => {
            return Err(at(&format!(
                "content must be a string or a list of parts, got {}",
                type_name(other)
            )))
        }
        None => return Err(at("missing :content")),
    };
    Ok(Message { role, content })
}

fn parse_part(part: &Value) -> Result<Part, String> {
    let map = part
        .as_object()
        .ok_or_else(|| format!("must be a map, got {}", type_name(part)))?;
    match map.get("type").and_then(Value::as_str) {
        Some("text") => match map.get("text") {
            Some(Value::String(t)) => Ok(Part::Text(t.clone())),
            _ => Err("a text part needs a string :text".into()),
        },
        Some("image_url") => {
            let url = match map.get("image_url") {
                Some(Value::String(u)) => Some(u.clone()),
                Some(Value::Object(m)) => m.get("url").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            };
            url.map(Part::ImageUrl)
                .ok_or_else(|| "an image_url part needs :image_url with a :url string".into())
        }
        Some(other) => Err(format!(
            "unsupported part type {other:?} (supported: \"text\", \"image_url\")"
        )),
        None => Err("missing :type".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_string_is_one_user_message() {
        assert_eq!(
            parse_prompt(&json!("hi")).unwrap(),
            vec![Message::user("hi")]
        );
    }

    #[test]
    fn lists_of_messages_and_parts_parse() {
        let msgs = parse_prompt(&json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "http://x/i.png"}}]}
        ]))
        .unwrap();
        assert_eq!(msgs[0].role, Role::System);
        assert_eq!(msgs[1].text(), "a");
    }

    #[test]
    fn bad_prompts_are_invalid_requests() {
        for bad in [
            json!([]),
            json!(42),
            json!([{"role": "robot", "content": "x"}]),
            json!([{"role": "user"}]),
            json!([{"role": "user", "content": 1}]),
            json!([{"role": "user", "content": [{"type": "audio"}]}]),
            json!([{"role": "system", "content": "only"}]),
            json!(["not a map"]),
        ] {
            let err = parse_prompt(&bad).unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::InvalidRequest, "{bad}");
        }
    }
}
