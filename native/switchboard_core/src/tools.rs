//! Tools a call offers the model, the calls the model makes, and the
//! assembly of calls that arrive in pieces while streaming.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::value::type_name;

/// The forced tool through which dialects without a native JSON Schema
/// mode (Anthropic messages, Bedrock Converse) ask for structured output:
/// its arguments are the answer. The engine takes a call of it out of
/// `tool_calls` and reads it as the structured answer.
pub const OUTPUT_TOOL: &str = "json_output";

/// What [`OUTPUT_TOOL`] tells the model, the same on every dialect.
pub const OUTPUT_TOOL_DESCRIPTION: &str =
    "Give your final answer by calling this tool: its input is the answer, matching this schema.";

/// Whether a request's `thinking` field (Anthropic's, also inside Bedrock's
/// `additionalModelRequestFields`) turns extended thinking on: any object
/// whose `type` is not `"disabled"`. Claude refuses a forced tool choice
/// with thinking on, so [`OUTPUT_TOOL`] is then offered, not forced, and
/// an answer in text is read as the structured answer instead.
pub fn thinking_enabled(thinking: Option<&Value>) -> bool {
    match thinking {
        Some(Value::Object(t)) => t.get("type").and_then(Value::as_str) != Some("disabled"),
        _ => false,
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// A JSON Schema object for the arguments.
    pub parameters: Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Tool(String),
}

/// A call the model asked for, or one the app sends back in a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The provider's id, or one made up for providers without ids
    /// (Gemini), so a result can name its call on any provider.
    pub id: String,
    pub name: String,
    /// Decoded arguments: a JSON object.
    pub arguments: Map<String, Value>,
    /// Gemini's `thoughtSignature` on this call's part, sent back on it in
    /// a Gemini request (Gemini 3 refuses a signed call that lost it);
    /// other dialects leave it out.
    pub signature: Option<String>,
}

impl ToolCall {
    /// A call without a signature.
    pub fn new(id: String, name: String, arguments: Map<String, Value>) -> Self {
        ToolCall {
            id,
            name,
            arguments,
            signature: None,
        }
    }
}

/// A tool call that started streaming: a UI can show it before its
/// arguments are complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallStart {
    pub id: String,
    pub name: String,
}

/// Tool names travel in every provider's request; this is the set all of
/// them accept (OpenAI's and Gemini's rule, the strictest).
fn check_name(name: &str) -> Result<(), String> {
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let ok = first_ok
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match ok {
        true => Ok(()),
        false => Err(format!(
            "tool name {name:?} must be 1 to 64 letters, digits, '_' or '-', \
             starting with a letter or '_'"
        )),
    }
}

/// Parses the `tools:` call option: a list of
/// `%{name, description, parameters}` maps.
pub fn parse_tools(value: &Value) -> Result<Vec<Tool>, Error> {
    let at = |i: usize, what: String| Error::invalid_request(format!("tools[{i}]: {what}"));
    let Value::Array(items) = value else {
        return Err(Error::invalid_request(format!(
            "tools must be a list of tool maps, got {}",
            type_name(value)
        )));
    };
    let mut tools: Vec<Tool> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let map = item
            .as_object()
            .ok_or_else(|| at(i, format!("must be a map, got {}", type_name(item))))?;
        for key in map.keys() {
            if !matches!(
                key.as_str(),
                "name" | "description" | "parameters" | "__struct__"
            ) {
                return Err(at(
                    i,
                    format!("unknown key {key:?} (expected name, description, parameters)"),
                ));
            }
        }
        let name = match map.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => return Err(at(i, "needs a string :name".into())),
        };
        check_name(&name).map_err(|e| at(i, e))?;
        if tools.iter().any(|t| t.name == name) {
            return Err(at(i, format!("tool {name:?} is declared twice")));
        }
        let description = match map.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(other) => {
                return Err(at(
                    i,
                    format!("description must be a string, got {}", type_name(other)),
                ))
            }
        };
        let parameters = match map.get("parameters") {
            None | Some(Value::Null) => serde_json::json!({"type": "object", "properties": {}}),
            Some(Value::Object(schema)) => Value::Object(schema.clone()),
            Some(other) => {
                return Err(at(
                    i,
                    format!(
                        "parameters must be a JSON Schema map, got {}",
                        type_name(other)
                    ),
                ))
            }
        };
        tools.push(Tool {
            name,
            description,
            parameters,
        });
    }
    Ok(tools)
}

/// With an output schema, the forced-tool dialects ask for the answer
/// through [`OUTPUT_TOOL`], and the engine reads a call of it as the
/// answer on every dialect: a tool of the call may not have that name.
pub fn check_output_tool(tools: &[Tool], output_schema: bool) -> Result<(), Error> {
    match output_schema && tools.iter().any(|t| t.name == OUTPUT_TOOL) {
        true => Err(Error::invalid_request(format!(
            "a tool named {OUTPUT_TOOL:?} cannot be offered with output_schema: \
             Switchboard reads a call of it as the structured answer; rename the tool"
        ))),
        false => Ok(()),
    }
}

/// Parses `tool_choice:`: `"auto"`, `"none"`, `"required"` or
/// `%{"tool" => name}` (what `{:tool, name}` becomes on the way in).
pub fn parse_tool_choice(value: &Value, tools: &[Tool]) -> Result<ToolChoice, Error> {
    let bad = || {
        Error::invalid_request(
            "tool_choice must be :auto, :none, :required or {:tool, name}".to_owned(),
        )
    };
    let choice = match value {
        Value::String(s) if s == "auto" => ToolChoice::Auto,
        Value::String(s) if s == "none" => ToolChoice::None,
        Value::String(s) if s == "required" => ToolChoice::Required,
        Value::Object(m) if m.len() == 1 => match m.get("tool") {
            Some(Value::String(name)) => ToolChoice::Tool(name.clone()),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    match &choice {
        ToolChoice::Auto | ToolChoice::None => {}
        _ if tools.is_empty() => {
            return Err(Error::invalid_request(
                "tool_choice asks for a tool call but the call has no tools",
            ))
        }
        ToolChoice::Tool(name) if !tools.iter().any(|t| &t.name == name) => {
            return Err(Error::invalid_request(format!(
                "tool_choice names tool {name:?}, which is not among the call's tools"
            )))
        }
        _ => {}
    }
    Ok(choice)
}

/// Decodes a tool call's arguments as the model sent them (a JSON text);
/// anything but a JSON object is a `:bad_response` naming the tool. An
/// empty text is no arguments.
pub fn arguments_from_text(name: &str, text: &str) -> Result<Map<String, Value>, Error> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Error::bad_response(format!(
            "the arguments of tool call {name:?} are {}, not a JSON object",
            type_name(&other)
        ))),
        Err(e) => Err(Error::bad_response(format!(
            "the arguments of tool call {name:?} are not valid JSON: {e}"
        ))),
    }
}

/// Arguments that arrived already decoded (Anthropic `input`, Gemini
/// `args`, Bedrock `input`): an object, or `null` for none.
pub fn arguments_from_value(
    name: &str,
    value: Option<&Value>,
) -> Result<Map<String, Value>, Error> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(Error::bad_response(format!(
            "the arguments of tool call {name:?} are {}, not a JSON object",
            type_name(other)
        ))),
    }
}

/// A made-up id for providers whose calls have none (Gemini): stable
/// within an answer, and unlike any provider's own ids.
pub fn made_up_id(index: usize) -> String {
    format!("call_sb_{index}")
}

/// The most argument text a stream's tool calls may hold, as much as the
/// engine lets a streamed answer's text grow.
pub const MAX_ARGUMENT_BYTES: usize = 32 * 1024 * 1024;

/// The provider's id for a call when it sent a non-empty one, else one
/// made up from the call's index in its answer.
pub fn id_or_made_up(id: Option<&str>, index: usize) -> String {
    id.filter(|id| !id.is_empty())
        .map_or_else(|| made_up_id(index), str::to_owned)
}

/// Tool calls streamed in pieces, keyed by the provider's index for the
/// call (OpenAI `index`, Anthropic and Bedrock content block index,
/// Responses `output_index`).
#[derive(Debug, Default)]
pub struct ToolCallAssembly {
    calls: Vec<Partial>,
}

#[derive(Debug)]
struct Partial {
    key: u64,
    id: String,
    name: String,
    arguments: String,
    /// Its start was seen (and announced).
    started: bool,
}

impl ToolCallAssembly {
    /// A call begins. Returns true the first time a call is started (to
    /// announce it once), also when pieces of its arguments came first.
    pub fn start(&mut self, key: u64, id: &str, name: &str) -> bool {
        match self.calls.iter_mut().find(|c| c.key == key) {
            Some(call) => {
                if call.id.is_empty() {
                    call.id.push_str(id);
                }
                if call.name.is_empty() {
                    call.name.push_str(name);
                }
                !std::mem::replace(&mut call.started, true)
            }
            None => {
                self.calls.push(Partial {
                    key,
                    id: id.to_owned(),
                    name: name.to_owned(),
                    arguments: String::new(),
                    started: true,
                });
                true
            }
        }
    }

    /// More of a call's arguments text; a piece for a call not started yet
    /// holds its place, without id or name, until its start (some servers
    /// send those late). The arguments held are bounded like a streamed
    /// answer's text: past [`MAX_ARGUMENT_BYTES`] the stream is a
    /// `:bad_response`.
    pub fn push_arguments(&mut self, key: u64, piece: &str) -> Result<(), Error> {
        if self.len_bytes().saturating_add(piece.len()) > MAX_ARGUMENT_BYTES {
            return Err(Error::bad_response(format!(
                "the streamed tool calls are larger than {} MiB",
                MAX_ARGUMENT_BYTES / (1024 * 1024)
            )));
        }
        match self.calls.iter_mut().find(|c| c.key == key) {
            Some(call) => call.arguments.push_str(piece),
            None => self.calls.push(Partial {
                key,
                id: String::new(),
                name: String::new(),
                arguments: piece.to_owned(),
                started: false,
            }),
        }
        Ok(())
    }

    /// Replaces a call's arguments with their final text (Responses'
    /// `function_call_arguments.done`, Bedrock's whole input).
    pub fn set_arguments(&mut self, key: u64, text: &str) {
        if let Some(call) = self.calls.iter_mut().find(|c| c.key == key) {
            call.arguments.clear();
            call.arguments.push_str(text);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Bytes held, so a stream's size limit can count them.
    pub fn len_bytes(&self) -> usize {
        self.calls
            .iter()
            .map(|c| c.arguments.len() + c.name.len() + c.id.len())
            .sum()
    }

    /// The complete calls, in the order they started; a call without a
    /// name, or whose arguments are not a JSON object, is a `:bad_response`.
    pub fn finish(self) -> Result<Vec<ToolCall>, Error> {
        self.calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if c.name.is_empty() {
                    return Err(Error::bad_response(
                        "a streamed tool call ended without a name",
                    ));
                }
                let arguments = arguments_from_text(&c.name, &c.arguments)?;
                let id = if c.id.is_empty() { made_up_id(i) } else { c.id };
                Ok(ToolCall {
                    id,
                    name: c.name,
                    arguments,
                    signature: None,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tools_parse_and_bad_ones_are_invalid_requests() {
        let tools = parse_tools(&json!([
            {"name": "get_metric", "description": "d", "parameters": {"type": "object"}},
            {"name": "now"}
        ]))
        .unwrap();
        assert_eq!(
            tools[1].parameters,
            json!({"type": "object", "properties": {}})
        );
        for bad in [
            json!({"name": "x"}),
            json!([{"name": "has space"}]),
            json!([{"name": "1st"}]),
            json!([{"name": "a"}, {"name": "a"}]),
            json!([{"name": "a", "parameters": "x"}]),
            json!([{"name": "a", "params": {}}]),
        ] {
            assert_eq!(
                parse_tools(&bad).unwrap_err().kind,
                crate::error::ErrorKind::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn thinking_is_on_for_any_object_but_a_disabled_one() {
        for (thinking, on) in [
            (json!({"type": "enabled", "budget_tokens": 1024}), true),
            (json!({"type": "adaptive"}), true),
            (json!({"type": "disabled"}), false),
            (json!(null), false),
            (json!(true), false),
        ] {
            assert_eq!(thinking_enabled(Some(&thinking)), on, "{thinking}");
        }
        assert!(!thinking_enabled(None));
    }

    #[test]
    fn tool_choice_must_name_a_declared_tool() {
        let tools = parse_tools(&json!([{"name": "a"}])).unwrap();
        assert_eq!(
            parse_tool_choice(&json!({"tool": "a"}), &tools).unwrap(),
            ToolChoice::Tool("a".into())
        );
        assert!(parse_tool_choice(&json!({"tool": "b"}), &tools).is_err());
        assert!(parse_tool_choice(&json!("required"), &[]).is_err());
        assert!(parse_tool_choice(&json!("sometimes"), &tools).is_err());
    }

    #[test]
    fn streamed_calls_assemble_in_order_and_bad_arguments_name_the_tool() {
        let mut a = ToolCallAssembly::default();
        assert!(a.start(1, "id1", "get"));
        a.push_arguments(1, "{\"k\":").unwrap();
        assert!(!a.start(1, "", ""));
        a.push_arguments(1, "1}").unwrap();
        a.push_arguments(3, "").unwrap();
        // Arguments before the start: the start still announces it.
        assert!(a.start(3, "", "now"));
        assert!(!a.start(3, "", "now"));
        let calls = a.finish().unwrap();
        assert_eq!(calls[0].arguments["k"], json!(1));
        assert_eq!(calls[1].id, "call_sb_1");
        let mut bad = ToolCallAssembly::default();
        bad.start(0, "i", "get");
        bad.push_arguments(0, "{\"k\":").unwrap();
        let e = bad.finish().unwrap_err();
        assert!(e.message.contains("\"get\""), "{}", e.message);
    }
}
