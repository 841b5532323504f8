//! Canonical JSON exactly as notary produces it (docker/go `MarshalCanonical`, spec §9.1), and
//! the Go stdlib escaping of the envelope around it (spec §9.3).
//!
//! Not OLPC canonical JSON: control characters are escaped (`\n`, `\r`, `\t`, `\u00xx` with
//! lower-case hex), nothing else is (no HTML escaping, raw UTF-8), keys are sorted by byte value,
//! numbers are integers.

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

    #[test]
    fn go_escaping_of_the_envelope() {
        let out = go_html_escape("{\"a&b<c>é\u{2028}\":1}".as_bytes());
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"a\\u0026b\\u003cc\\u003eé\\u2028\":1}"
        );
    }
}
