//! Erlang External Term Format for the control API, so the Elixir side can
//! talk to the mock with `:erlang.term_to_binary/1` and no JSON library.

use eetf::{Atom, BigInteger, Binary, FixInteger, Float, List, Map, Term, Tuple};
use serde_json::{Number, Value};

use crate::state::Record;

pub const CONTENT_TYPE: &str = "application/x-erlang-binary";

pub fn decode(bytes: &[u8]) -> Result<Term, String> {
    Term::decode(bytes).map_err(|e| format!("invalid external term format: {e}"))
}

pub fn encode(term: &Term) -> Vec<u8> {
    let mut out = Vec::new();
    // Encoding into a Vec only fails for terms eetf cannot represent; ours
    // are built from JSON-like data, so that would be a bug worth surfacing.
    if let Err(e) = term.encode(&mut out) {
        out.clear();
        let fallback = Term::from(Tuple::from(vec![
            atom("error"),
            binary(format!("term encoding failed: {e}").as_bytes()),
        ]));
        let _ = fallback.encode(&mut out);
    }
    out
}

/// Elixir term -> JSON value. Atom keys and values become strings except
/// `nil`, `true` and `false`; tuples are read as lists.
pub fn term_to_json(term: &Term) -> Result<Value, String> {
    Ok(match term {
        Term::Atom(a) => match a.name.as_str() {
            "nil" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_owned()),
        },
        Term::FixInteger(i) => Value::from(i.value),
        Term::BigInteger(i) => {
            let s = i.value.to_string();
            if let Ok(n) = s.parse::<i64>() {
                Value::from(n)
            } else if let Ok(n) = s.parse::<u64>() {
                Value::from(n)
            } else {
                return Err(format!("integer {s} is out of range"));
            }
        }
        Term::Float(f) => Number::from_f64(f.value)
            .map(Value::Number)
            .ok_or("non-finite float")?,
        Term::Binary(b) => Value::String(String::from_utf8_lossy(&b.bytes).into_owned()),
        // Elixir sends lists of small integers as a byte string.
        Term::ByteList(b) => Value::Array(b.bytes.iter().map(|&x| Value::from(x)).collect()),
        Term::List(l) => Value::Array(
            l.elements
                .iter()
                .map(term_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Term::Tuple(t) => Value::Array(
            t.elements
                .iter()
                .map(term_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Term::Map(m) => {
            let mut out = serde_json::Map::with_capacity(m.map.len());
            for (k, v) in &m.map {
                out.insert(key_string(k)?, term_to_json(v)?);
            }
            Value::Object(out)
        }
        other => return Err(format!("unsupported term {other}")),
    })
}

fn key_string(term: &Term) -> Result<String, String> {
    match term {
        Term::Atom(a) => Ok(a.name.clone()),
        Term::Binary(b) => Ok(String::from_utf8_lossy(&b.bytes).into_owned()),
        Term::FixInteger(i) => Ok(i.value.to_string()),
        other => Err(format!("map keys must be atoms or binaries, got {other}")),
    }
}

/// JSON value -> Elixir term: objects become maps with binary keys, strings
/// binaries, `null` `nil`. Never creates atoms other than nil/true/false.
pub fn json_to_term(value: &Value) -> Term {
    match value {
        Value::Null => atom("nil"),
        Value::Bool(true) => atom("true"),
        Value::Bool(false) => atom("false"),
        Value::Number(n) => number_term(n),
        Value::String(s) => binary(s.as_bytes()),
        Value::Array(items) => Term::from(List::from(
            items.iter().map(json_to_term).collect::<Vec<_>>(),
        )),
        Value::Object(map) => Term::from(Map::from(
            map.iter()
                .map(|(k, v)| (binary(k.as_bytes()), json_to_term(v)))
                .collect::<std::collections::HashMap<_, _>>(),
        )),
    }
}

fn number_term(n: &Number) -> Term {
    if let Some(i) = n.as_i64() {
        int(i)
    } else if let Some(u) = n.as_u64() {
        Term::from(BigInteger::from(u))
    } else {
        // serde_json numbers are finite, so this conversion cannot fail.
        n.as_f64()
            .and_then(|f| Float::try_from(f).ok())
            .map_or_else(|| atom("nil"), Term::from)
    }
}

pub fn atom(name: &str) -> Term {
    Term::from(Atom::from(name))
}

pub fn binary(bytes: &[u8]) -> Term {
    Term::from(Binary::from(bytes))
}

pub fn int(i: i64) -> Term {
    match i32::try_from(i) {
        Ok(small) => Term::from(FixInteger::from(small)),
        Err(_) => Term::from(BigInteger::from(i)),
    }
}

fn uint(u: u64) -> Term {
    i64::try_from(u).map_or_else(|_| Term::from(BigInteger::from(u)), int)
}

pub fn map(pairs: Vec<(&str, Term)>) -> Term {
    Term::from(Map::from(
        pairs
            .into_iter()
            .map(|(k, v)| (binary(k.as_bytes()), v))
            .collect::<std::collections::HashMap<_, _>>(),
    ))
}

/// A request record as the Elixir side sees it; see the crate docs for the shape.
pub fn record_to_term(r: &Record) -> Term {
    let (outcome, finished) = r.outcome_and_time();
    let headers = r
        .headers
        .iter()
        .map(|(name, value)| Term::from(Tuple::from(vec![binary(name.as_bytes()), binary(value)])))
        .collect::<Vec<_>>();
    let json = match serde_json::from_slice::<Value>(&r.body) {
        Ok(v) if !r.body.is_empty() => json_to_term(&v),
        _ => atom("nil"),
    };
    map(vec![
        ("method", binary(r.method.as_bytes())),
        ("version", binary(r.version.as_bytes())),
        (
            "connection",
            int(i64::try_from(r.connection).unwrap_or(i64::MAX)),
        ),
        ("path", binary(r.path.as_bytes())),
        ("query", binary(r.query.as_bytes())),
        ("headers", Term::from(List::from(headers))),
        ("body", binary(&r.body)),
        ("json", json),
        ("outcome", binary(outcome.as_str().as_bytes())),
        (
            "status",
            r.status()
                .map_or_else(|| atom("nil"), |s| int(i64::from(s))),
        ),
        (
            "auth",
            r.auth.map_or_else(|| atom("nil"), |a| binary(a.as_bytes())),
        ),
        ("received_at_us", uint(r.received_at_us)),
        ("finished_at_us", finished.map_or_else(|| atom("nil"), uint)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_terms() {
        let v = json!({"a": [1, -2, 3_000_000_000_i64, 1.5, "s", null, true], "b": {"c": false}});
        let term = json_to_term(&v);
        let bytes = encode(&term);
        let back = term_to_json(&decode(&bytes).expect("decodes")).expect("converts");
        assert_eq!(back, v);
    }

    #[test]
    fn atoms_normalise() {
        let term = Term::from(Map::from([
            (atom("status"), int(500)),
            (atom("drop"), atom("true")),
            (atom("content"), atom("nil")),
            (atom("kind"), atom("fast")),
        ]));
        assert_eq!(
            term_to_json(&term).expect("converts"),
            json!({"status": 500, "drop": true, "content": null, "kind": "fast"})
        );
    }
}
