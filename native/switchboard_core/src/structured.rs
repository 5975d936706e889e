//! Structured output, provider-neutral: the answer to a call with an
//! `output_schema` is decoded into `Completion::parsed`, or the attempt
//! fails with `:bad_response`.
//!
//! Lenient where models slip: a markdown code fence around the JSON, prose
//! before or after it, trailing commas, and a number or boolean sent as a
//! string where the schema wants a number, integer or boolean (never the
//! reverse). Strict about the schema: a missing required field, a wrong
//! type or a value outside an enum fails, naming the path of the value
//! (`/checks/0/status`). A schema is compiled once and shared by the calls
//! that use it, and an invalid one is an `:invalid_request` before anything
//! is sent.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use boon::{Compiler, Draft, SchemaIndex, Schemas, SchemeUrlLoader, ValidationError};
use serde_json::{Number, Value};

use crate::error::Error;
use crate::tools::OUTPUT_TOOL;
use crate::wire::Completion;

/// Where the schema lives for the validator: it is added as a resource, so
/// nothing is ever loaded from that (or any) address.
const SCHEMA_URL: &str = "file:///switchboard/output_schema.json";

/// How many candidate JSON texts are tried in an answer's prose.
const MAX_CANDIDATES: usize = 16;

/// How deep the coercion follows local `$ref`s and nesting.
const MAX_DEPTH: usize = 64;

/// How many failing paths one error names.
const MAX_REPORTED: usize = 3;

/// How many compiled schemas are kept for later calls. An app asks for a
/// few schemas over and over, and compiling one (which checks it against
/// its draft's metaschema) costs several times what checking an answer
/// does: about 0.5 ms for a 20-field schema, against tens of µs.
const CACHE_SIZE: usize = 64;

/// Schemas larger than this (as JSON text) are not kept.
const MAX_CACHED_SCHEMA_BYTES: usize = 64 * 1024;

/// Compiled schemas by their JSON text, oldest evicted first.
#[derive(Default)]
struct Cache {
    entries: HashMap<String, Arc<OutputSchema>>,
    order: VecDeque<String>,
}

fn cache() -> std::sync::MutexGuard<'static, Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// A call's `output_schema`, compiled.
pub struct OutputSchema {
    schema: Value,
    schemas: Schemas,
    index: SchemaIndex,
}

impl fmt::Debug for OutputSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputSchema")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl OutputSchema {
    /// Compiles `schema` (draft 2020-12 unless it names another with
    /// `$schema`). References reach only inside the schema itself: no file
    /// and no network is read. An invalid schema is `:invalid_request`.
    pub fn compile(schema: &Value) -> Result<Self, Error> {
        let invalid = |e: &dyn fmt::Display| {
            Error::invalid_request(format!("output_schema is not a valid JSON Schema: {e:#}"))
        };
        let mut compiler = Compiler::new();
        compiler.set_default_draft(Draft::V2020_12);
        // No scheme registered: a `$ref` outside the schema fails to compile.
        compiler.use_loader(Box::new(SchemeUrlLoader::new()));
        compiler
            .add_resource(SCHEMA_URL, schema.clone())
            .map_err(|e| invalid(&e))?;
        let mut schemas = Schemas::new();
        let index = compiler
            .compile(SCHEMA_URL, &mut schemas)
            .map_err(|e| invalid(&e))?;
        Ok(OutputSchema {
            schema: schema.clone(),
            schemas,
            index,
        })
    }

    /// The compiled form of `schema`, from the calls before this one when
    /// one of them used the same schema (the last [`CACHE_SIZE`] are kept).
    pub fn shared(schema: &Value) -> Result<Arc<Self>, Error> {
        let key = schema.to_string();
        // A large schema is compiled for its call alone: the cache's
        // memory stays bounded by CACHE_SIZE small entries.
        if key.len() > MAX_CACHED_SCHEMA_BYTES {
            return Self::compile(schema).map(Arc::new);
        }
        if let Some(hit) = cache().entries.get(&key) {
            return Ok(Arc::clone(hit));
        }
        // Compiled outside the lock: other calls need not wait for it.
        let compiled = Arc::new(Self::compile(schema)?);
        let mut cache = cache();
        if !cache.entries.contains_key(&key) {
            if cache.entries.len() >= CACHE_SIZE {
                if let Some(oldest) = cache.order.pop_front() {
                    cache.entries.remove(&oldest);
                }
            }
            cache.order.push_back(key.clone());
            cache.entries.insert(key, Arc::clone(&compiled));
        }
        Ok(compiled)
    }

    /// The schema as the caller gave it (what providers send).
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Reads the structured answer of `completion` into its `parsed`: the
    /// arguments of a call of [`OUTPUT_TOOL`] (taken out of `tool_calls`),
    /// or else the answer text. An answer from the tool with no text
    /// beside it gets the tool's arguments, as JSON text, as its
    /// `content`: the answer is then also in the text, as with providers
    /// that answer in text, and an assistant turn built from the response
    /// (`Response.to_message/1`) repeats it. A failure is `:bad_response`
    /// with the answer in `raw_response`; it is not retried unless `retry`
    /// (a fallback still moves on).
    pub fn apply(&self, completion: &mut Completion, retry: bool) -> Result<(), Error> {
        let from_tool = completion
            .tool_calls
            .iter()
            .position(|c| c.name == OUTPUT_TOOL);
        let (mut value, raw) = match from_tool {
            // A turn of a tool loop: the model wants tools run before it
            // answers, so there is nothing to check yet.
            None if !completion.tool_calls.is_empty() => return Ok(()),
            Some(i) => {
                let call = completion.tool_calls.remove(i);
                let value = Value::Object(call.arguments);
                let raw = value.to_string();
                (value, raw)
            }
            None => match decode_lenient(&completion.content) {
                Ok(value) => (value, completion.content.clone()),
                Err(message) => {
                    return Err(failure(message, completion.content.clone(), retry));
                }
            },
        };
        coerce(&mut value, &self.schema, &self.schema, 0);
        if let Err(e) = self.schemas.validate(&value, self.index) {
            let message = format!("the answer does not match output_schema: {}", describe(&e));
            return Err(failure(message, raw, retry));
        }
        completion.parsed = Some(value);
        if from_tool.is_some() && completion.content.trim().is_empty() {
            completion.content = raw;
        }
        Ok(())
    }
}

/// The most of an answer kept on a schema failure, as for a provider's
/// error body: the error travels to every receiver.
const RAW_LIMIT: usize = 64 * 1024;

fn failure(message: String, mut raw: String, retry: bool) -> Error {
    let mut e = Error::bad_response(message);
    crate::value::truncate_chars(&mut raw, RAW_LIMIT);
    e.raw_response = Some(raw);
    if !retry {
        e.retryable = Some(false);
    }
    e
}

// --- decoding -----------------------------------------------------------

/// The JSON in an answer text, forgiving fences, prose and trailing commas.
fn decode_lenient(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the answer is empty; expected JSON for output_schema".to_owned());
    }
    let first_error = match serde_json::from_str::<Value>(trimmed) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    let body = fenced(trimmed).unwrap_or(trimmed);
    if let Ok(value) = parse_relaxed(body.trim()) {
        return Ok(value);
    }
    let starts = body
        .char_indices()
        .filter(|(_, c)| *c == '{' || *c == '[')
        .map(|(i, _)| i)
        .take(MAX_CANDIDATES);
    for start in starts {
        if let Some(end) = balanced_end(body, start) {
            if let Ok(value) = parse_relaxed(&body[start..end]) {
                return Ok(value);
            }
        }
    }
    Err(format!(
        "the answer is not valid JSON for output_schema: {first_error}"
    ))
}

/// The inside of the first markdown code fence, without its info string
/// (```` ```json ````); an unclosed fence runs to the end.
fn fenced(text: &str) -> Option<&str> {
    let open = text.find("```")?;
    let after = &text[open + 3..];
    let body = match after.find('\n') {
        Some(nl) if !after[..nl].contains(['{', '[']) => &after[nl + 1..],
        _ => after.trim_start_matches(|c: char| c.is_ascii_alphanumeric()),
    };
    Some(match body.find("```") {
        Some(close) => &body[..close],
        None => body,
    })
}

/// A JSON text, or the same with trailing commas removed.
fn parse_relaxed(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(text).or_else(|e| match without_trailing_commas(text) {
        Some(fixed) => serde_json::from_str(&fixed),
        None => Err(e),
    })
}

/// `text` without commas that stand right before `}` or `]` (outside
/// strings); `None` if there were none.
fn without_trailing_commas(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut removed = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = bytes[i + 1..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .copied();
            if matches!(next, Some(b'}') | Some(b']')) {
                removed = true;
                continue;
            }
        }
        out.push(c);
    }
    removed.then_some(out)
}

/// The end (exclusive) of the object or array that opens at `start`, with
/// strings skipped; `None` if it never closes or closes with the wrong
/// bracket.
fn balanced_end(text: &str, start: usize) -> Option<usize> {
    let mut closers: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in text.as_bytes().iter().enumerate().skip(start) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => closers.push(b'}'),
            b'[' => closers.push(b']'),
            b'}' | b']' => {
                if closers.pop() != Some(b) {
                    return None;
                }
                if closers.is_empty() {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

// --- coercion -------------------------------------------------------------

/// Turns strings into numbers or booleans where the schema wants those and
/// not a string, following `properties`, `additionalProperties`, `items`,
/// `prefixItems`, `allOf` and local `$ref`s.
fn coerce(value: &mut Value, schema: &Value, root: &Value, depth: usize) {
    let Value::Object(s) = schema else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(Value::String(r)) = s.get("$ref") {
        if let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p)) {
            coerce(value, target, root, depth + 1);
        }
    }
    if let Some(Value::Array(all)) = s.get("allOf") {
        for sub in all {
            coerce(value, sub, root, depth + 1);
        }
    }
    match value {
        Value::String(text) => {
            if let Some(v) = scalar_from_string(text, s.get("type")) {
                *value = v;
            }
        }
        Value::Object(map) => {
            let properties = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties");
            for (key, item) in map.iter_mut() {
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => coerce(item, sub, root, depth + 1),
                    None => {
                        if let Some(sub) = additional {
                            coerce(item, sub, root, depth + 1);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            let prefix = s.get("prefixItems").and_then(Value::as_array);
            let rest = s.get("items");
            for (i, item) in items.iter_mut().enumerate() {
                match prefix.and_then(|p| p.get(i)) {
                    Some(sub) => coerce(item, sub, root, depth + 1),
                    None => {
                        if let Some(sub) = rest {
                            coerce(item, sub, root, depth + 1);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The number or boolean a string stands for, when the schema's `type`
/// wants one of those and does not accept a string.
fn scalar_from_string(text: &str, types: Option<&Value>) -> Option<Value> {
    let wants = |name: &str| match types {
        Some(Value::String(t)) => t == name,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == name),
        _ => false,
    };
    if wants("string") {
        return None;
    }
    let t = text.trim();
    if wants("integer") {
        if let Some(n) = integer(t) {
            return Some(Value::Number(n));
        }
    }
    if wants("number") {
        if let Some(n) = integer(t) {
            return Some(Value::Number(n));
        }
        if let Some(n) = t.parse::<f64>().ok().and_then(Number::from_f64) {
            return Some(Value::Number(n));
        }
    }
    if wants("boolean") {
        match t {
            "true" => return Some(Value::Bool(true)),
            "false" => return Some(Value::Bool(false)),
            _ => {}
        }
    }
    None
}

/// An integer written plainly or as a float without a fraction (`"42.0"`).
fn integer(t: &str) -> Option<Number> {
    if let Ok(i) = t.parse::<i64>() {
        return Some(i.into());
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(u.into());
    }
    let f = t.parse::<f64>().ok()?;
    let whole = f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15;
    // Exact: |f| < 2^53, so the cast keeps the value.
    whole.then(|| (f as i64).into())
}

// --- errors ---------------------------------------------------------------

/// The failing values of a validation error, each as `path: what`.
fn describe(e: &ValidationError) -> String {
    let mut leaves = Vec::new();
    collect_leaves(e, &mut leaves);
    let found: Vec<String> = leaves.into_iter().flat_map(describe_leaf).collect();
    let mut parts: Vec<&str> = found
        .iter()
        .take(MAX_REPORTED)
        .map(String::as_str)
        .collect();
    let more = found.len().saturating_sub(MAX_REPORTED);
    let more_text = format!("and {more} more");
    if more > 0 {
        parts.push(&more_text);
    }
    parts.join("; ")
}

fn collect_leaves<'a, 's, 'v>(
    e: &'a ValidationError<'s, 'v>,
    out: &mut Vec<&'a ValidationError<'s, 'v>>,
) {
    if e.causes.is_empty() {
        out.push(e);
    }
    for cause in &e.causes {
        collect_leaves(cause, out);
    }
}

/// A missing required field is named by its own path, one per field.
fn describe_leaf(e: &ValidationError) -> Vec<String> {
    let at = e.instance_location.to_string();
    match &e.kind {
        boon::ErrorKind::Required { want } => want
            .iter()
            .map(|field| format!("{at}/{}: missing required field", pointer_escape(field)))
            .collect(),
        kind => {
            let at = if at.is_empty() { "/".to_owned() } else { at };
            vec![format!("{at}: {kind}")]
        }
    }
}

fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn health_schema() -> Value {
        json!({
            "type": "object",
            "required": ["healthy", "score", "checks"],
            "properties": {
                "healthy": {"type": "boolean"},
                "score": {"type": "integer"},
                "load": {"type": "number"},
                "note": {"type": "string"},
                "checks": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/check"}
                }
            },
            "$defs": {
                "check": {
                    "type": "object",
                    "required": ["name", "status"],
                    "properties": {
                        "name": {"type": "string"},
                        "status": {"enum": ["ok", "warn", "fail"]}
                    }
                }
            }
        })
    }

    fn answer(text: &str) -> Completion {
        Completion {
            content: text.to_owned(),
            ..Completion::default()
        }
    }

    fn parsed(text: &str) -> Value {
        let schema = OutputSchema::compile(&health_schema()).expect("schema");
        let mut c = answer(text);
        schema.apply(&mut c, false).expect("parsed");
        c.parsed.expect("parsed set")
    }

    fn failed(text: &str) -> Error {
        let schema = OutputSchema::compile(&health_schema()).expect("schema");
        let mut c = answer(text);
        let e = schema.apply(&mut c, false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert_eq!(e.retryable, Some(false));
        assert_eq!(e.raw_response.as_deref(), Some(text));
        assert!(c.parsed.is_none());
        e
    }

    const CLEAN: &str =
        r#"{"healthy": true, "score": 7, "checks": [{"name": "db", "status": "ok"}]}"#;

    fn clean() -> Value {
        json!({"healthy": true, "score": 7, "checks": [{"name": "db", "status": "ok"}]})
    }

    #[test]
    fn a_clean_answer_is_parsed_and_the_text_is_kept() {
        let schema = OutputSchema::compile(&health_schema()).unwrap();
        let mut c = answer(CLEAN);
        schema.apply(&mut c, false).unwrap();
        assert_eq!(c.parsed, Some(clean()));
        assert_eq!(c.content, CLEAN);
    }

    #[test]
    fn a_markdown_fence_is_read_through() {
        assert_eq!(parsed(&format!("```json\n{CLEAN}\n```")), clean());
        assert_eq!(parsed(&format!("```\n{CLEAN}\n```")), clean());
        assert_eq!(parsed(&format!("```{CLEAN}```")), clean());
    }

    #[test]
    fn prose_around_the_json_is_skipped() {
        let text =
            format!("Sure! Here is the report {{as asked}}:\n{CLEAN}\nLet me know [if] more.");
        assert_eq!(parsed(&text), clean());
        let fenced = format!("The report:\n```json\n{CLEAN}\n```\nDone.");
        assert_eq!(parsed(&fenced), clean());
    }

    #[test]
    fn trailing_commas_are_forgiven_but_not_inside_strings() {
        let text = r#"{"healthy": true, "score": 7, "note": "a,}", "checks": [{"name": "db", "status": "ok",},],}"#;
        let v = parsed(text);
        assert_eq!(v["note"], json!("a,}"));
        assert_eq!(v["checks"][0]["status"], json!("ok"));
    }

    #[test]
    fn numbers_and_booleans_sent_as_strings_are_coerced() {
        let v = parsed(r#"{"healthy": "true", "score": "42", "load": "0.5", "checks": []}"#);
        assert_eq!(
            v,
            json!({"healthy": true, "score": 42, "load": 0.5, "checks": []})
        );
        let v = parsed(r#"{"healthy": "false", "score": " 3.0 ", "checks": []}"#);
        assert_eq!(v["healthy"], json!(false));
        assert_eq!(v["score"], json!(3));
    }

    #[test]
    fn a_number_is_not_coerced_into_a_string() {
        let e = failed(r#"{"healthy": true, "score": 1, "note": 5, "checks": []}"#);
        assert!(
            e.message.contains("/note: want string, but got number"),
            "{}",
            e.message
        );
        // Nor a string the schema does not want as a number.
        let e = failed(r#"{"healthy": true, "score": "many", "checks": []}"#);
        assert!(
            e.message.contains("/score: want integer, but got string"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_missing_required_field_names_its_path() {
        let e = failed(r#"{"healthy": true, "score": 1, "checks": [{"name": "db"}]}"#);
        assert!(
            e.message
                .contains("/checks/0/status: missing required field"),
            "{}",
            e.message
        );
        let e = failed(r#"{"healthy": true, "checks": []}"#);
        assert!(
            e.message.contains("/score: missing required field"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        let e = failed(r#"{"healthy": true, "score": 1, "checks": {"name": "db"}}"#);
        assert!(
            e.message.contains("/checks: want array, but got object"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_value_outside_the_enum_names_its_path() {
        let e = failed(
            r#"{"healthy": true, "score": 1, "checks": [{"name": "a", "status": "ok"}, {"name": "b", "status": "bad"}]}"#,
        );
        assert!(
            e.message.contains("/checks/1/status: value must be one of"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("/checks/0"), "{}", e.message);
    }

    #[test]
    fn text_that_is_no_json_is_a_bad_response() {
        let e = failed("I cannot answer that.");
        assert!(e.message.contains("not valid JSON"), "{}", e.message);
        let e = failed("   ");
        assert!(e.message.contains("empty"), "{}", e.message);
        assert!(failed(r#"{"healthy": true, "score": 1, "checks": ["#)
            .message
            .contains("JSON"));
    }

    #[test]
    fn a_turn_that_calls_tools_has_nothing_to_check_yet() {
        let schema = OutputSchema::compile(&health_schema()).unwrap();
        let call = ToolCall {
            id: "c1".into(),
            name: "get_metric".into(),
            arguments: Default::default(),
            signature: None,
        };
        let mut c = Completion {
            content: "Let me look.".into(),
            tool_calls: vec![call.clone()],
            ..Completion::default()
        };
        schema.apply(&mut c, false).unwrap();
        assert_eq!((c.parsed, c.tool_calls), (None, vec![call]));
    }

    #[test]
    fn the_output_tool_call_is_the_answer_and_leaves_tool_calls() {
        let schema = OutputSchema::compile(&health_schema()).unwrap();
        let other = ToolCall {
            id: "c1".into(),
            name: "get_metric".into(),
            arguments: Default::default(),
            signature: None,
        };
        let Value::Object(arguments) = json!({"healthy": "true", "score": 2, "checks": []}) else {
            unreachable!()
        };
        let mut c = Completion {
            content: "ignored prose".into(),
            tool_calls: vec![
                other.clone(),
                ToolCall {
                    id: "c2".into(),
                    name: OUTPUT_TOOL.into(),
                    arguments,
                    signature: None,
                },
            ],
            ..Completion::default()
        };
        schema.apply(&mut c, false).unwrap();
        assert_eq!(
            c.parsed,
            Some(json!({"healthy": true, "score": 2, "checks": []}))
        );
        assert_eq!(c.tool_calls, vec![other]);
        // Text beside the tool's answer stays the content.
        assert_eq!(c.content, "ignored prose");

        let Value::Object(arguments) = json!({"healthy": true, "score": 1, "checks": []}) else {
            unreachable!()
        };
        let mut c = Completion {
            tool_calls: vec![ToolCall {
                id: "c4".into(),
                name: OUTPUT_TOOL.into(),
                arguments,
                signature: None,
            }],
            ..Completion::default()
        };
        schema.apply(&mut c, false).unwrap();
        // Alone, the tool's answer is the content too, as JSON text.
        let content: Value = serde_json::from_str(&c.content).expect("JSON text");
        assert_eq!(Some(content), c.parsed);

        let Value::Object(bad) = json!({"healthy": true}) else {
            unreachable!()
        };
        let mut c = Completion {
            tool_calls: vec![ToolCall {
                id: "c3".into(),
                name: OUTPUT_TOOL.into(),
                arguments: bad,
                signature: None,
            }],
            ..Completion::default()
        };
        let e = schema.apply(&mut c, true).unwrap_err();
        assert!(
            e.message.contains("/score: missing required field"),
            "{}",
            e.message
        );
        assert_eq!(e.raw_response.as_deref(), Some(r#"{"healthy":true}"#));
        // Asked to retry invalid output: the kind's own rule applies.
        assert_eq!(e.retryable, None);
        assert!(e.is_retryable());
    }

    #[test]
    fn an_invalid_schema_is_an_invalid_request() {
        for bad in [
            json!({"type": "objekt"}),
            json!({"type": "object", "required": "name"}),
            json!({"$ref": "https://example.com/schema.json"}),
            json!({"$ref": "/etc/passwd"}),
        ] {
            let e = OutputSchema::compile(&bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidRequest, "{bad}");
            assert!(e.message.contains("output_schema"), "{}", e.message);
        }
    }

    #[test]
    fn a_schema_is_compiled_once_and_shared_by_later_calls() {
        let schema = json!({"type": "object", "properties": {"shared_test": {"type": "integer"}}});
        let first = OutputSchema::shared(&schema).unwrap();
        let again = OutputSchema::shared(&schema.clone()).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other = OutputSchema::shared(&json!({"type": "array"})).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert!(OutputSchema::shared(&json!({"type": "objekt"})).is_err());
        // Far more schemas than are kept: the oldest are compiled anew.
        for i in 0..(CACHE_SIZE + 1) {
            OutputSchema::shared(&json!({"maxLength": i})).unwrap();
        }
        let cache = cache();
        assert!(cache.entries.len() <= CACHE_SIZE);
        assert_eq!(cache.entries.len(), cache.order.len());
    }

    #[test]
    fn a_top_level_array_or_scalar_schema_works() {
        let schema =
            OutputSchema::compile(&json!({"type": "array", "items": {"type": "integer"}})).unwrap();
        let mut c = answer("Numbers: [1, \"2\", 3,]");
        schema.apply(&mut c, false).unwrap();
        assert_eq!(c.parsed, Some(json!([1, 2, 3])));
        let schema = OutputSchema::compile(&json!({"type": "integer"})).unwrap();
        let mut c = answer(" \"7\" ");
        schema.apply(&mut c, false).unwrap();
        assert_eq!(c.parsed, Some(json!(7)));
    }
}
