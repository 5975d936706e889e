//! OpenAI's strict structured-output rule, shared by the chat and
//! Responses dialects: whether a JSON Schema can be sent with
//! `strict: true`.

use serde_json::Value;

/// Keywords OpenAI's strict mode refuses (its structured-outputs guide).
const NOT_STRICT: &[&str] = &[
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "dependentRequired",
    "dependentSchemas",
];

/// Deeper schemas are sent non-strict rather than walked further.
const MAX_SCHEMA_DEPTH: usize = 32;

/// Whether OpenAI's strict mode accepts `schema` as it is, so asking for it
/// cannot turn a good call into a 400: the root is an object schema; every
/// object schema in it says `additionalProperties: false` and requires all
/// its properties; no keyword strict mode refuses appears. Anything else is
/// sent with `strict: false` (the model is then guided, not constrained, and
/// the engine's validation still checks the answer).
pub(crate) fn strict_allowed(schema: &Value) -> bool {
    is_object_schema(schema) && strict_node(schema, 0)
}

fn is_object_schema(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => schema.get("properties").is_some(),
    }
}

fn strict_node(schema: &Value, depth: usize) -> bool {
    let Value::Object(map) = schema else {
        // `true` / `false` schemas cannot be expressed in strict mode.
        return false;
    };
    if depth > MAX_SCHEMA_DEPTH || NOT_STRICT.iter().any(|k| map.contains_key(*k)) {
        return false;
    }
    if is_object_schema(schema) {
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            return false;
        }
        let properties = match map.get("properties") {
            None => None,
            Some(Value::Object(p)) => Some(p),
            Some(_) => return false,
        };
        let required: Vec<&str> = match map.get("required") {
            None => Vec::new(),
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            Some(_) => return false,
        };
        for (name, sub) in properties.into_iter().flatten() {
            if !required.contains(&name.as_str()) || !strict_node(sub, depth + 1) {
                return false;
            }
        }
    }
    let subschemas = |key: &str| -> Vec<&Value> {
        match map.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(Value::Object(m)) if matches!(key, "$defs" | "definitions") => {
                m.values().collect()
            }
            Some(one) => vec![one],
        }
    };
    ["items", "prefixItems", "anyOf", "$defs", "definitions"]
        .iter()
        .flat_map(|k| subschemas(k))
        .all(|sub| strict_node(sub, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::strict_allowed;
    use serde_json::json;

    #[test]
    fn strict_mode_only_where_the_schema_allows_it() {
        let closed = |props: serde_json::Value, required: serde_json::Value| {
            json!({"type": "object", "properties": props, "required": required,
                   "additionalProperties": false})
        };
        let item = closed(json!({"n": {"type": "integer"}}), json!(["n"]));
        let nested = closed(
            json!({
                "name": {"type": ["string", "null"]},
                "items": {"type": "array", "items": item},
                "either": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/d"}]}
            }),
            json!(["name", "items", "either"]),
        );
        let mut with_defs = nested.clone();
        with_defs["$defs"] = json!({"d": closed(json!({}), json!([]))});
        assert!(strict_allowed(&nested));
        assert!(strict_allowed(&with_defs));
        assert!(strict_allowed(&closed(json!({}), json!([]))));

        let not_strict = [
            // Open objects, at the root or below.
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}),
            closed(
                json!({"o": {"type": "object", "properties": {}}}),
                json!(["o"]),
            ),
            // A property that is not required.
            closed(
                json!({"a": {"type": "string"}, "b": {"type": "string"}}),
                json!(["a"]),
            ),
            // An open object in an array, an anyOf or the definitions.
            closed(
                json!({"l": {"type": "array", "items": {"type": "object", "properties": {}}}}),
                json!(["l"]),
            ),
            closed(
                json!({"u": {"anyOf": [{"type": "object", "properties": {"x": {"type": "string"}},
                                        "additionalProperties": false}]}}),
                json!(["u"]),
            ),
            {
                let mut s = closed(json!({}), json!([]));
                s["$defs"] = json!({"d": {"type": "object"}});
                s
            },
            // Keywords strict mode refuses; a root that is not an object.
            closed(json!({"a": {"oneOf": [{"type": "string"}]}}), json!(["a"])),
            json!({"type": "array", "items": {"type": "string"}}),
            json!({"anyOf": [{"type": "object", "properties": {}, "additionalProperties": false}]}),
            closed(json!({"a": true}), json!(["a"])),
        ];
        for schema in not_strict {
            assert!(!strict_allowed(&schema), "{schema}");
        }
        // Very deep schemas are not walked to the bottom.
        let mut deep = json!({"type": "string"});
        for _ in 0..100 {
            deep = closed(json!({"a": deep}), json!(["a"]));
        }
        assert!(!strict_allowed(&deep));
    }
}
