//! Canonical JSON exactly as notary produces it (docker/go `MarshalCanonical`, spec §9.1), and
//! the Go stdlib escaping of the envelope around it (spec §9.3).
//!
//! Not OLPC canonical JSON: control characters are escaped (`\n`, `\r`, `\t`, `\u00xx` with
//! lower-case hex), nothing else is (no HTML escaping, raw UTF-8), keys are sorted by byte value,
//! numbers are integers.

use std::cell::Cell;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::error::{Error, Result};

/// Encodes `value` as notary's canonical JSON.
pub fn to_vec(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(Error::InvalidMetadata {
                    reason: "canonical JSON allows integers only".into(),
                });
            }
        }
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(key, out);
                out.push(b':');
                write(&map[key], out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Encodes JSON text (a `signed` object as received) as notary's canonical JSON, straight from
/// the text: no tree is built, so memory stays near the size of the output. Members are written
/// as they arrive and only an object whose members arrive out of order is rearranged (notary's
/// documents arrive sorted). An object with two members of one name is refused: parsers
/// disagree on which one counts, and a signature must mean one thing.
pub fn from_text(text: &str) -> Result<Vec<u8>> {
    let problem = Cell::new(None);
    let mut out = Vec::with_capacity(text.len());
    let mut de = serde_json::Deserializer::from_str(text);
    let written = Canon {
        out: &mut out,
        problem: &problem,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (written, problem.get()) {
        (Ok(()), _) => Ok(out),
        (Err(_), Some(reason)) => Err(Error::InvalidMetadata {
            reason: reason.into(),
        }),
        (Err(_), None) => Err(Error::InvalidMetadata {
            reason: "the signed object is not valid JSON".into(),
        }),
    }
}

/// Writes one JSON value, read from a deserializer, as canonical JSON into `out`; records in
/// `problem` why it refused a value that is valid JSON.
struct Canon<'o> {
    out: &'o mut Vec<u8>,
    problem: &'o Cell<Option<&'static str>>,
}

impl Canon<'_> {
    fn refuse<E: serde::de::Error>(&self, reason: &'static str) -> E {
        self.problem.set(Some(reason));
        E::custom(reason)
    }
}

impl<'de> DeserializeSeed<'de> for Canon<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Canon<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<(), E> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<(), E> {
        self.out.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<(), E> {
        self.out.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<(), E> {
        Err(self.refuse("canonical JSON allows integers only"))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        string(v, self.out);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let at = self.out.len();
            if !first {
                self.out.push(b',');
            }
            let item = Canon {
                out: &mut *self.out,
                problem: self.problem,
            };
            if seq.next_element_seed(item)?.is_none() {
                self.out.truncate(at);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let start = self.out.len();
        self.out.push(b'{');
        let (mut key, mut previous) = (String::new(), String::new());
        let (mut first, mut sorted) = (true, true);
        while map.next_key_seed(Name(&mut key))?.is_some() {
            if !first {
                match previous.as_bytes().cmp(key.as_bytes()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        return Err(self.refuse("an object has two members of the same name"));
                    }
                    std::cmp::Ordering::Greater => sorted = false,
                }
                self.out.push(b',');
            }
            string(&key, self.out);
            self.out.push(b':');
            map.next_value_seed(Canon {
                out: &mut *self.out,
                problem: self.problem,
            })?;
            std::mem::swap(&mut key, &mut previous);
            first = false;
        }
        self.out.push(b'}');
        if !sorted {
            sort_members(self.out, start).map_err(|reason| self.refuse(reason))?;
        }
        Ok(())
    }
}

/// Reads a member name into a reused buffer.
struct Name<'k>(&'k mut String);

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        self.0.clear();
        self.0.push_str(v);
        Ok(())
    }
}

/// Rearranges the canonical object that starts at `out[start]` (and ends `out`) so that its
/// members are sorted by the bytes of their names; refuses two members of one name.
fn sort_members(out: &mut Vec<u8>, start: usize) -> std::result::Result<(), &'static str> {
    let object = out.split_off(start);
    let body = &object[1..object.len() - 1];
    let mut members: Vec<(Vec<u8>, &[u8])> = split_members(body)
        .into_iter()
        .map(|m| (unescape_name(m), m))
        .collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    if members.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err("an object has two members of the same name");
    }
    out.push(b'{');
    for (i, (_, member)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(member);
    }
    out.push(b'}');
    Ok(())
}

/// The members (`"name":value`) of a canonical object's body, split at its top-level commas.
fn split_members(body: &[u8]) -> Vec<&[u8]> {
    let (mut members, mut from, mut depth) = (Vec::new(), 0, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in body.iter().enumerate() {
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
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => {
                members.push(&body[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    if from < body.len() {
        members.push(&body[from..]);
    }
    members
}

/// The bytes of the name of a canonical member (`"name":value`), undoing [`string`]'s escapes.
fn unescape_name(member: &[u8]) -> Vec<u8> {
    let mut name = Vec::new();
    let mut i = 1;
    while i < member.len() && member[i] != b'"' {
        if member[i] == b'\\' {
            i += 1;
            match member.get(i) {
                Some(b'n') => name.push(b'\n'),
                Some(b'r') => name.push(b'\r'),
                Some(b't') => name.push(b'\t'),
                Some(b'u') => {
                    let hex = member.get(i + 3..i + 5).unwrap_or_default();
                    let hex = std::str::from_utf8(hex).unwrap_or_default();
                    name.push(u8::from_str_radix(hex, 16).unwrap_or_default());
                    i += 4;
                }
                Some(&other) => name.push(other),
                None => break,
            }
        } else {
            name.push(member[i]);
        }
        i += 1;
    }
    name
}

fn string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Applies Go's `json.Compact` escaping to already-compact JSON: `<`, `>`, `&`, U+2028 and U+2029
/// become `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`. This is how notary's envelope wraps
/// the canonical `signed` bytes, so the bytes on the wire differ from the signed bytes.
pub fn go_html_escape(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xe2 if json.get(i + 1) == Some(&0x80)
                && matches!(json.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                out.extend_from_slice(if json[i + 2] == 0xa8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorted_compact_and_escaped_like_notary() {
        let v = json!({"b": [1, -2, true, null], "a": {"z": "x", "A": "y"}, "s": "q\"\\\n\r\t\u{1}\u{7f}é<&>\u{2028}"});
        let out = String::from_utf8(to_vec(&v).expect("encodes")).expect("utf8");
        assert_eq!(
            out,
            "{\"a\":{\"A\":\"y\",\"z\":\"x\"},\"b\":[1,-2,true,null],\"s\":\"q\\\"\\\\\\n\\r\\t\\u0001\u{7f}é<&>\u{2028}\"}"
        );
        assert!(to_vec(&json!({"f": 1.5})).is_err());
    }

    fn value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever the content, the encoding parses back to the same value, re-encodes to the
        /// same bytes, and still means the same value after Go's envelope escaping.
        #[test]
        fn round_trips(v in value()) {
            let bytes = to_vec(&v).expect("integers only");
            let back: Value = serde_json::from_slice(&bytes).expect("valid JSON");
            proptest::prop_assert_eq!(&back, &v);
            proptest::prop_assert_eq!(to_vec(&back).expect("again"), bytes.clone());
            let escaped = go_html_escape(&bytes);
            let reparsed: Value = serde_json::from_slice(&escaped).expect("still JSON");
            proptest::prop_assert_eq!(reparsed, v);
        }
    }

    /// `v` as JSON text with its members in reverse order, spaced out and with every character
    /// of its strings escaped as `\uXXXX`: the same value, as another encoder could write it.
    fn scrambled(v: &Value) -> String {
        let text = |s: &str| {
            let units: String = s.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
            format!("\"{units}\"")
        };
        match v {
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(scrambled).collect();
                format!("[ {} ]", items.join(" , "))
            }
            Value::Object(map) => {
                let members: Vec<String> = map
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{} : {}", text(k), scrambled(v)))
                    .collect();
                format!("{{ {} }}", members.join(" ,\n "))
            }
            Value::String(s) => text(s),
            other => other.to_string(),
        }
    }

    proptest::proptest! {
        /// Straight from the text, the canonical bytes are those of the parsed value, whatever
        /// the order of the members, the spacing and the escapes.
        #[test]
        fn from_text_agrees_with_the_tree(v in value()) {
            let expected = to_vec(&v).expect("integers only");
            proptest::prop_assert_eq!(from_text(&v.to_string()).expect("sorted"), expected.clone());
            proptest::prop_assert_eq!(from_text(&scrambled(&v)).expect("scrambled"), expected);
        }
    }

    #[test]
    fn from_text_refuses_what_canonical_json_cannot_say() {
        let refused = |text: &str, why: &str| {
            let err = from_text(text).expect_err(text).to_string();
            assert!(err.contains(why), "{text}: {err}");
        };
        refused(r#"{"a":1,"a":2}"#, "two members of the same name");
        refused(r#"{"b":1,"a":{"x":1,"y":2},"b":3}"#, "two members of the same name");
        refused(r#"{"a":{"k":1,"k":1}}"#, "two members of the same name");
        refused(r#"{"a":1.5}"#, "integers only");
        refused(r#"{"a":-0}"#, "integers only");
        refused(r#"[184467440737095516160]"#, "integers only");
        refused(r#"{"a":1"#, "not valid JSON");
        refused(r#"{"a":1} x"#, "not valid JSON");
        refused(r#"{"a":"\ud800"}"#, "not valid JSON");
        assert_eq!(
            from_text(r#"{"b":[{"z":1,"\n":2}],"a":"<&>","\"":null}"#).expect("valid"),
            br#"{"\"":null,"a":"<&>","b":[{"\n":2,"z":1}]}"#.to_vec()
        );
    }

    #[test]
    fn go_escaping_of_the_envelope() {
        let out = go_html_escape("{\"a&b<c>é\u{2028}\":1}".as_bytes());
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"a\\u0026b\\u003cc\\u003eé\\u2028\":1}"
        );
    }
}
