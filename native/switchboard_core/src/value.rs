//! Reading values that come from outside: typed reads of an options map,
//! each error naming where the option lives, and how a value is shown in
//! an error without echoing it.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::Error;

/// Cuts `s` to at most `max_bytes`, at a character boundary; says whether
/// anything was cut.
pub fn truncate_chars(s: &mut String, max_bytes: usize) -> bool {
    if s.len() <= max_bytes {
        return false;
    }
    let mut cut = max_bytes;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    true
}

/// A view over one options map; `ctx` names its owner in errors,
/// e.g. `client "Primary"`.
pub struct Options<'a> {
    ctx: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Options<'a> {
    pub fn new(ctx: &'a str, map: &'a Map<String, Value>) -> Self {
        Options { ctx, map }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) -> Error {
        Error::config(format!(
            "{}: option {key:?} must be {expected}, got {}",
            self.ctx,
            described(got)
        ))
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    pub fn required_str(&self, key: &str) -> Result<&'a str, Error> {
        match self.str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(Error::config(format!(
                "{}: option {key:?} must not be empty",
                self.ctx
            ))),
            None => Err(Error::config(format!(
                "{}: missing required option {key:?}",
                self.ctx
            ))),
        }
    }

    pub fn u64(&self, key: &str) -> Result<Option<u64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a non-negative integer", v)),
        }
    }

    pub fn millis(&self, key: &str) -> Result<Option<Duration>, Error> {
        Ok(self.u64(key)?.map(Duration::from_millis))
    }

    /// A duration in milliseconds of at most `max_ms`.
    pub fn millis_at_most(&self, key: &str, max_ms: u64) -> Result<Option<Duration>, Error> {
        match self.u64(key)? {
            Some(ms) if ms > max_ms => Err(Error::config(format!(
                "{}: option {key:?} must be at most {max_ms} ms ({}), got {ms}",
                self.ctx,
                in_words(max_ms)
            ))),
            ms => Ok(ms.map(Duration::from_millis)),
        }
    }

    pub fn f64(&self, key: &str) -> Result<Option<f64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a number", v)),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "a boolean", v)),
        }
    }

    pub fn map(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.wrong(key, "a map", v)),
        }
    }

    /// A map of string to string, e.g. `headers` or `query_params`.
    pub fn string_map(&self, key: &str) -> Result<Vec<(String, String)>, Error> {
        let Some(map) = self.map(key)? else {
            return Ok(Vec::new());
        };
        map.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(Error::config(format!(
                    "{}: option {key:?} entry {k:?} must be a string, got {}",
                    self.ctx,
                    described(other)
                ))),
            })
            .collect()
    }

    pub fn string_list(&self, key: &str) -> Result<Option<Vec<String>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.wrong(key, "a list of strings", other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(self.wrong(key, "a list of strings", v)),
        }
    }

    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), Error> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(Error::config(format!(
                "{}: unknown option {k:?} (expected one of: {})",
                self.ctx,
                known.join(", ")
            ))),
        }
    }
}

/// A user-supplied string as shown in an error: quoted and cut to a
/// readable length, so a 5 MB name does not become a 5 MB message.
pub fn shown(s: &str) -> String {
    const LIMIT: usize = 64;
    match s.char_indices().nth(LIMIT) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &s[..cut], s.len()),
    }
}

/// A bound in milliseconds as a person reads it: `24 h`, `90 s`.
fn in_words(ms: u64) -> String {
    match ms {
        ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{ms} ms"),
    }
}

/// A value as an error shows it: numbers and booleans as given (`-5`,
/// `1.5`: what the user typed, never a secret), anything else by its type
/// name only.
pub fn described(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => type_name(other).to_owned(),
    }
}

/// A short name for a JSON value's type, for error messages that must not
/// echo the value itself (it may be huge or secret).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_wrong_number_is_shown_as_given_and_a_wrong_string_is_not() {
        let map = json!({"n": -5, "f": 1.5, "b": true, "s": "sk-secret"});
        let o = Options::new("client \"A\"", map.as_object().unwrap());
        let message = |e: Error| e.message;
        assert_eq!(
            message(o.u64("n").unwrap_err()),
            "client \"A\": option \"n\" must be a non-negative integer, got -5"
        );
        assert!(message(o.u64("f").unwrap_err()).ends_with("got 1.5"));
        assert!(message(o.str("b").unwrap_err()).ends_with("got true"));
        let e = message(o.u64("s").unwrap_err());
        assert!(
            e.ends_with("got a string") && !e.contains("sk-secret"),
            "{e}"
        );
    }
}
