//! The `forecasts` topic's message, written as JSON bytes without building any object: the
//! contract's field names (`SHARED_FIELDS`, `PER_MODEL_FIELDS`) with values given in the same
//! order, so a field added to the contract fails to compile here until it has a value.

use std::fmt::Write;

use crate::contract::{ENTRIES_FIELD, PER_MODEL_FIELDS, SHARED_FIELDS};

/// One JSON value of a message.
pub enum Json<'a> {
    Str(&'a str),
    Int(i64),
    Num(f64),
}

/// The shared fields' values, in `SHARED_FIELDS`' order.
pub type Shared<'a> = [Json<'a>; SHARED_FIELDS.len()];
/// One forecaster's entry, in `PER_MODEL_FIELDS`' order.
pub type Entry<'a> = [Json<'a>; PER_MODEL_FIELDS.len()];

/// Appends one message: the shared fields, then the entries under `ENTRIES_FIELD`.
pub fn write_message<'a>(out: &mut Vec<u8>, shared: &Shared<'_>, entries: impl Iterator<Item = Entry<'a>>) {
    out.push(b'{');
    write_fields(out, &SHARED_FIELDS, shared);
    out.push(b',');
    write_key(out, ENTRIES_FIELD);
    out.push(b'[');
    for (i, entry) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        write_fields(out, &PER_MODEL_FIELDS, &entry);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

fn write_fields(out: &mut Vec<u8>, names: &[&str], values: &[Json<'_>]) {
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_key(out, name);
        match *value {
            Json::Str(s) => write_str(out, s),
            Json::Int(n) => {
                let _ = write!(Utf8(out), "{n}");
            }
            Json::Num(x) => write_f64(out, x),
        }
    }
}

/// A field's name and its colon: the contract's names are plain identifiers (a test holds them
/// to it), so nothing is escaped (escaping them char by char took the core from 6.0 to 8.8 us
/// a tick).
fn write_key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(Utf8(out), "\\u{:04x}", c as u32);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// A finite number as Rust's shortest round-trip form (which JSON readers take), else null.
fn write_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        let _ = write!(Utf8(out), "{x:?}");
    } else {
        out.extend_from_slice(b"null");
    }
}

struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contracts_field_names_need_no_escaping() {
        let plain = |name: &str| name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        assert!(SHARED_FIELDS.iter().chain(&PER_MODEL_FIELDS).all(|n| plain(n)));
        assert!(plain(ENTRIES_FIELD));
    }

    #[test]
    fn a_message_escapes_text_and_writes_no_nan() {
        let mut out = Vec::new();
        let shared: Shared = [Json::Str("A\"B\n"), Json::Int(-5), Json::Int(0), Json::Int(1),
                              Json::Num(1.5), Json::Num(0.9)];
        let entry: Entry = [Json::Str("m"), Json::Str("f"), Json::Str("m"), Json::Num(f64::NAN),
                            Json::Num(2.0), Json::Num(1.0), Json::Num(3.0), Json::Num(0.5)];
        write_message(&mut out, &shared, std::iter::once(entry));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(r#"{"symbol":"A\"B\u000a","ts":-5,"#), "{text}");
        assert!(text.contains(r#""forecasts":[{"model":"m","#), "{text}");
        assert!(text.contains(r#""predicted_return":null,"predicted_price":2.0"#), "{text}");
        assert!(text.ends_with("}]}"), "{text}");
    }
}
