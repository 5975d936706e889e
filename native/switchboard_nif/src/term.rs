//! BEAM terms to JSON values. Config maps, prompts and call options all come
//! from user code, so this never trusts their shape: every unsupported term
//! is an error naming where it was found, and depth is bounded.

use std::fmt::Write;

use rustler::{Binary, ListIterator, MapIterator, Term, TermType};
use serde_json::{Map, Number, Value};

/// Deeper than this is a config or prompt nobody writes by hand.
const MAX_DEPTH: usize = 64;

/// Converts `term`; on failure returns a message starting with the path
/// (`options.headers["x"]`) of the offending value.
pub fn to_value(term: Term, root: &str) -> Result<Value, String> {
    let mut path = root.to_owned();
    convert(term, &mut path, 0)
}

fn convert(term: Term, path: &mut String, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{path}: nested deeper than {MAX_DEPTH} levels"));
    }
    match term.get_type() {
        TermType::Atom => {
            let name = term
                .atom_to_string()
                .map_err(|_| format!("{path}: unreadable atom"))?;
            Ok(match name.as_str() {
                "nil" => Value::Null,
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(name),
            })
        }
        TermType::Binary => text(term, path).map(Value::String),
        TermType::Integer => {
            if let Ok(i) = term.decode::<i64>() {
                Ok(Value::from(i))
            } else if let Ok(u) = term.decode::<u64>() {
                Ok(Value::from(u))
            } else {
                Err(format!("{path}: integer out of the 64-bit range"))
            }
        }
        TermType::Float => {
            let f: f64 = term
                .decode()
                .map_err(|_| format!("{path}: unreadable float"))?;
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("{path}: float is not finite"))
        }
        TermType::List => {
            // ListIterator panics on an improper list; its length says first.
            if term.list_length().is_err() {
                return Err(format!("{path}: improper list"));
            }
            let items: ListIterator = term
                .decode()
                .map_err(|_| format!("{path}: improper list"))?;
            let mut out = Vec::new();
            for (i, item) in items.enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                out.push(convert(item, path, depth + 1)?);
                path.truncate(len);
            }
            Ok(Value::Array(out))
        }
        TermType::Map => {
            let entries =
                MapIterator::new(term).ok_or_else(|| format!("{path}: unreadable map"))?;
            let mut out = Map::new();
            for (key, value) in entries {
                let key = map_key(key, path)?;
                let len = path.len();
                path.push('.');
                path.push_str(&key);
                let value = convert(value, path, depth + 1)?;
                path.truncate(len);
                if out.insert(key.clone(), value).is_some() {
                    return Err(format!(
                        "{path}: key {key:?} is given both as an atom and as a string"
                    ));
                }
            }
            Ok(Value::Object(out))
        }
        TermType::Tuple => Err(format!(
            "{path}: tuples are not supported here (use a map or a list)"
        )),
        other => Err(format!(
            "{path}: {} values are not supported here",
            format!("{other:?}").to_lowercase()
        )),
    }
}

/// Whether converting `terms` costs at most about `budget` bytes of work
/// (string bytes, plus a fixed price per value and more per atom), decided
/// without looking further than the budget, and allocating only a tuple's
/// list of elements (prompts and options have none; the caller's
/// telemetry `metadata:`, copied whole, may).
pub fn fits(terms: &[Term], budget: usize) -> bool {
    let mut left = budget;
    terms.iter().all(|&term| within(term, &mut left, 0))
}

fn within(term: Term, left: &mut usize, depth: usize) -> bool {
    // Measured: converting a value (allocations, its path) costs about as
    // much as 100 bytes of text; an atom's name, up to 255 characters, is
    // copied out on top.
    const PER_VALUE: usize = 128;
    const ATOM_NAME: usize = 256;
    let mut spend = |n: usize| match left.checked_sub(n) {
        Some(rest) => {
            *left = rest;
            true
        }
        None => false,
    };
    if depth > MAX_DEPTH || !spend(PER_VALUE) {
        return false;
    }
    match term.get_type() {
        TermType::Atom => spend(ATOM_NAME),
        // Byte-aligned binaries are inspected in place; an unaligned one
        // (made on purpose with the bit syntax) is copied first.
        TermType::Binary => Binary::from_term(term).is_ok_and(|b| spend(b.len())),
        // Cell by cell: `list_length` would walk all of a huge list first.
        TermType::List => {
            let mut rest = term;
            while let Ok((head, tail)) = rest.list_get_cell() {
                if !within(head, left, depth + 1) {
                    return false;
                }
                rest = tail;
            }
            // `[]` ends a proper list. Any other tail says no, and
            // `to_value` reports it where there is time.
            rest.get_type() == TermType::List
        }
        TermType::Map => MapIterator::new(term).is_some_and(|mut entries| {
            entries.all(|(k, v)| within(k, left, depth + 1) && within(v, left, depth + 1))
        }),
        TermType::Tuple => rustler::types::tuple::get_tuple(term).is_ok_and(|elements| {
            elements
                .into_iter()
                .all(|element| within(element, left, depth + 1))
        }),
        _ => true,
    }
}

fn map_key(key: Term, path: &str) -> Result<String, String> {
    match key.get_type() {
        TermType::Atom => key
            .atom_to_string()
            .map_err(|_| format!("{path}: unreadable atom key")),
        TermType::Binary => text(key, path),
        _ => Err(format!("{path}: map keys must be atoms or strings")),
    }
}

fn text(term: Term, path: &str) -> Result<String, String> {
    let bin =
        Binary::from_term(term).map_err(|_| format!("{path}: bitstrings are not supported"))?;
    std::str::from_utf8(bin.as_slice())
        .map(str::to_owned)
        .map_err(|_| format!("{path}: string is not valid UTF-8"))
}
