//! BAML's role selection and role metadata: which role each message of a
//! prompt is sent as, and which of its metadata keys reach the request,
//! decided per client before its request is built.
//!
//! - `allowed_roles`: a message whose role is not in the list is sent as
//!   `default_role`.
//! - `default_role`: must be one of the allowed roles (checked when the
//!   registry is built).
//! - `remap_roles`: role names rewritten last (`%{"user" => "human"}`);
//!   every key must be an allowed role.
//! - `allowed_role_metadata`: `"all"`, `"none"` or a list of keys; the
//!   others are removed from every message.
//!
//! Defaults follow BAML: `system`, `user` and `assistant` are allowed
//! (only `user` and `assistant` for OpenAI's `o1` models); the default
//! role is the first allowed one on the OpenAI dialects but Ollama, and
//! `user` (when allowed) elsewhere; no role is remapped and no metadata
//! forwarded.
//!
//! Tool results, and assistant turns that carry tool calls or reasoning,
//! keep their roles: they are the tool protocol, not prose a role can be
//! chosen for.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::prompt::{Message, Role};
use crate::value::{shown, type_name, Options};

/// Which metadata keys of a message reach the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowedMetadata {
    All,
    #[default]
    None,
    Only(Vec<String>),
}

impl AllowedMetadata {
    pub fn allows(&self, key: &str) -> bool {
        match self {
            AllowedMetadata::All => true,
            AllowedMetadata::None => false,
            AllowedMetadata::Only(keys) => keys.iter().any(|k| k == key),
        }
    }
}

/// How a provider picks its default role when `default_role` is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRoleRule {
    /// The first allowed role (BAML's OpenAI dialects: `system`).
    FirstAllowed,
    /// `user` when allowed, else the first allowed role.
    PreferUser,
}

/// A client's role selection and metadata filter, checked at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSelection {
    allowed: Vec<String>,
    default: String,
    remap: Vec<(String, String)>,
    metadata: AllowedMetadata,
}

const BAML_ROLES: [&str; 3] = ["system", "user", "assistant"];

/// The providers whose default role is the first allowed one.
const OPENAI_DIALECTS: &[&str] = &[
    "openai",
    "openai-generic",
    "azure-openai",
    "ollama",
    "openrouter",
    "openai-responses",
];

impl Default for RoleSelection {
    fn default() -> Self {
        RoleSelection {
            allowed: BAML_ROLES.iter().map(|r| (*r).to_owned()).collect(),
            default: "user".into(),
            remap: Vec::new(),
            metadata: AllowedMetadata::None,
        }
    }
}

impl RoleSelection {
    /// Reads a leaf client's options; `provider` is its canonical name.
    pub fn parse(ctx: &str, provider: &str, raw: &Map<String, Value>) -> Result<Self, Error> {
        let o = Options::new(ctx, raw);
        let bad = |what: String| Error::config(format!("{ctx}: {what}"));
        let openai_dialect = OPENAI_DIALECTS.contains(&provider);
        let allowed = match o.string_list("allowed_roles")? {
            Some(list) if list.is_empty() => {
                return Err(bad("option \"allowed_roles\" must not be empty".into()))
            }
            Some(list) => {
                if let Some(blank) = list.iter().find(|r| r.trim().is_empty()) {
                    return Err(bad(format!(
                        "option \"allowed_roles\" has an empty role {blank:?}"
                    )));
                }
                list
            }
            None if openai_dialect && is_o1_model(o.str("model")?) => {
                vec!["user".into(), "assistant".into()]
            }
            None => BAML_ROLES.iter().map(|r| (*r).to_owned()).collect(),
        };
        // BAML's Ollama client defaults to `user`: its small models
        // prefer it.
        let rule = if openai_dialect && provider != "ollama" {
            DefaultRoleRule::FirstAllowed
        } else {
            DefaultRoleRule::PreferUser
        };
        let default = match o.str("default_role")? {
            Some(role) if allowed.iter().any(|a| a == role) => role.to_owned(),
            Some(role) => {
                return Err(bad(format!(
                    "option \"default_role\" is {role:?}, which is not one of the allowed roles {allowed:?}"
                )))
            }
            None => match rule {
                DefaultRoleRule::PreferUser if allowed.iter().any(|a| a == "user") => "user".into(),
                _ => allowed[0].clone(),
            },
        };
        let mut remap = Vec::new();
        for (from, to) in o.map("remap_roles")?.into_iter().flatten() {
            let Value::String(to) = to else {
                return Err(bad(format!(
                    "option \"remap_roles\" entry {from:?} must be a string, got {}",
                    type_name(to)
                )));
            };
            if !allowed.contains(from) {
                return Err(bad(format!(
                    "option \"remap_roles\" renames {from:?}, which is not one of the allowed roles {allowed:?}"
                )));
            }
            if to.trim().is_empty() {
                return Err(bad(format!(
                    "option \"remap_roles\" renames {from:?} to an empty role"
                )));
            }
            remap.push((from.clone(), to.clone()));
        }
        let metadata = match raw.get("allowed_role_metadata") {
            None | Some(Value::Null) => AllowedMetadata::None,
            Some(Value::String(s)) if s == "all" => AllowedMetadata::All,
            Some(Value::String(s)) if s == "none" => AllowedMetadata::None,
            Some(Value::Array(_)) => match o.string_list("allowed_role_metadata")? {
                Some(keys) => AllowedMetadata::Only(keys),
                None => AllowedMetadata::None,
            },
            Some(other) => {
                let got = match other {
                    Value::String(s) => shown(s),
                    other => type_name(other).to_owned(),
                };
                return Err(bad(format!(
                    "option \"allowed_role_metadata\" must be \"all\", \"none\" or a list of keys, got {got}"
                )));
            }
        };
        Ok(RoleSelection {
            allowed,
            default,
            remap,
            metadata,
        })
    }

    pub fn default_role(&self) -> &str {
        &self.default
    }

    /// The prompt as this client sends it: roles selected and renamed,
    /// metadata keys that are not allowed removed. Borrowed when nothing
    /// changes (the usual call).
    pub fn apply<'m>(&self, messages: &'m [Message]) -> Cow<'m, [Message]> {
        if messages
            .iter()
            .all(|m| m.metadata.is_empty() && self.sent_as(m).is_none())
        {
            return Cow::Borrowed(messages);
        }
        Cow::Owned(
            messages
                .iter()
                .map(|m| {
                    let mut m = m.clone();
                    if let Some((role, name)) = self.sent_as(&m) {
                        m.role = role;
                        m.role_name = name;
                    }
                    m.metadata.retain(|key, _| self.metadata.allows(key));
                    m
                })
                .collect(),
        )
    }

    /// The role a message is sent as, and the name it is sent under when
    /// that is not the role's own; `None` when it is sent as it is.
    fn sent_as(&self, m: &Message) -> Option<(Role, Option<String>)> {
        if m.role == Role::Tool || !m.tool_calls.is_empty() || !m.reasoning_parts.is_empty() {
            return None;
        }
        let own = m.role.as_str();
        let selected = if self.allowed.iter().any(|a| a == own) {
            own
        } else {
            self.default.as_str()
        };
        let wire = self
            .remap
            .iter()
            .find(|(from, _)| from == selected)
            .map_or(selected, |(_, to)| to.as_str());
        if wire == own {
            return None;
        }
        // A name the dialects know decides where the message goes (a
        // system message sent as `user` is a turn); any other name is sent
        // as it is in the place of the role it came from.
        let role = known_role(wire)
            .or_else(|| known_role(selected))
            .unwrap_or(m.role);
        let name = (wire != role.as_str()).then(|| wire.to_owned());
        Some((role, name))
    }
}

fn known_role(name: &str) -> Option<Role> {
    match name {
        "system" => Some(Role::System),
        "user" => Some(Role::User),
        "assistant" => Some(Role::Assistant),
        _ => None,
    }
}

/// Whether BAML streams a client of `provider` with `model` by default:
/// not OpenAI's `o1` models on the OpenAI dialects (BAML's
/// `supports_streaming` default), every other client.
pub fn streams_by_default(provider: &str, model: Option<&str>) -> bool {
    !(OPENAI_DIALECTS.contains(&provider) && is_o1_model(model))
}

/// BAML's test for the `o1` models, which take no system messages.
fn is_o1_model(model: Option<&str>) -> bool {
    model.is_some_and(|m| m == "o1" || m.starts_with("o1-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::parse_prompt;
    use serde_json::json;

    fn selection(provider: &str, options: Value) -> Result<RoleSelection, Error> {
        let Value::Object(map) = options else {
            unreachable!("an object")
        };
        RoleSelection::parse("client \"C\"", provider, &map)
    }

    fn sent(s: &RoleSelection, prompt: Value) -> Vec<(Role, Option<String>)> {
        let messages = parse_prompt(&prompt).unwrap();
        s.apply(&messages)
            .iter()
            .map(|m| (m.role, m.role_name.clone()))
            .collect()
    }

    #[test]
    fn baml_defaults_per_provider() {
        assert_eq!(selection("anthropic", json!({})).unwrap().default, "user");
        assert_eq!(selection("openai", json!({})).unwrap().default, "system");
        let o1 = selection("openai", json!({"model": "o1-mini"})).unwrap();
        assert_eq!(o1.allowed, ["user", "assistant"]);
        assert_eq!(o1.default, "user");
        let custom = selection("aws-bedrock", json!({"allowed_roles": ["assistant", "x"]}));
        assert_eq!(custom.unwrap().default, "assistant");
        // BAML's Ollama prefers `user`; the other OpenAI dialects take the
        // first allowed role.
        let roles = json!({"allowed_roles": ["system", "user"]});
        assert_eq!(selection("ollama", roles.clone()).unwrap().default, "user");
        assert_eq!(
            selection("openai-generic", roles).unwrap().default,
            "system"
        );
    }

    #[test]
    fn only_o1_models_on_openai_dialects_do_not_stream_by_default() {
        assert!(!streams_by_default("openai", Some("o1")));
        assert!(!streams_by_default("azure-openai", Some("o1-mini")));
        assert!(streams_by_default("openai", Some("o1x")));
        assert!(streams_by_default("openai", Some("gpt-4o")));
        assert!(streams_by_default("openai", None));
        assert!(streams_by_default("anthropic", Some("o1")));
    }

    #[test]
    fn a_disallowed_role_is_sent_as_the_default_and_renamed_last() {
        let s = selection(
            "anthropic",
            json!({"allowed_roles": ["user", "assistant"], "remap_roles": {"assistant": "bot"}}),
        )
        .unwrap();
        let prompt = json!([
            {"role": "system", "content": "s"},
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": "a"}
        ]);
        assert_eq!(
            sent(&s, prompt),
            [
                (Role::User, None),
                (Role::User, None),
                (Role::Assistant, Some("bot".into()))
            ]
        );
    }

    #[test]
    fn an_unchanged_prompt_is_borrowed() {
        let s = selection("openai", json!({})).unwrap();
        let messages = parse_prompt(&json!("hi")).unwrap();
        assert!(matches!(s.apply(&messages), Cow::Borrowed(_)));
    }

    #[test]
    fn tool_turns_keep_their_roles() {
        let s = selection("openai", json!({"allowed_roles": ["user"]})).unwrap();
        let prompt = json!([
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "name": "f", "arguments": {}}]},
            {"role": "tool", "tool_call_id": "c", "content": "r"},
            {"role": "assistant", "content": "done"}
        ]);
        assert_eq!(
            sent(&s, prompt),
            [
                (Role::User, None),
                (Role::Assistant, None),
                (Role::Tool, None),
                (Role::User, None)
            ]
        );
    }

    #[test]
    fn metadata_keys_that_are_not_allowed_are_removed() {
        let prompt = json!([{"role": "user", "content": "u",
                             "cache_control": {"type": "ephemeral"}, "other": 1}]);
        let messages = parse_prompt(&prompt).unwrap();
        let only = selection(
            "anthropic",
            json!({"allowed_role_metadata": ["cache_control"]}),
        );
        let kept = only.unwrap().apply(&messages)[0].metadata.clone();
        assert_eq!(
            Value::Object(kept),
            json!({"cache_control": {"type": "ephemeral"}})
        );
        for none in [json!({}), json!({"allowed_role_metadata": "none"})] {
            let s = selection("anthropic", none).unwrap();
            assert!(s.apply(&messages)[0].metadata.is_empty());
        }
        let all = selection("anthropic", json!({"allowed_role_metadata": "all"})).unwrap();
        assert_eq!(all.apply(&messages)[0].metadata.len(), 2);
    }

    #[test]
    fn bad_options_are_config_errors_naming_the_option() {
        for (options, names) in [
            (json!({"allowed_roles": []}), "allowed_roles"),
            (json!({"allowed_roles": "user"}), "allowed_roles"),
            (
                json!({"allowed_roles": ["user"], "default_role": "system"}),
                "default_role",
            ),
            (json!({"default_role": "robot"}), "default_role"),
            (json!({"remap_roles": {"robot": "x"}}), "remap_roles"),
            (json!({"remap_roles": {"user": 1}}), "remap_roles"),
            (json!({"remap_roles": ["user"]}), "remap_roles"),
            (
                json!({"allowed_role_metadata": "some"}),
                "allowed_role_metadata",
            ),
            (
                json!({"allowed_role_metadata": [1]}),
                "allowed_role_metadata",
            ),
        ] {
            let err = selection("anthropic", options.clone()).unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::Config, "{options}");
            assert!(err.message.contains(names), "{options}: {}", err.message);
        }
    }
}
