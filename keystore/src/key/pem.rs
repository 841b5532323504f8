//! PEM framing exactly as Go's `encoding/pem` writes it, with notary's `role:`/`gun:` headers.
//!
//! Own code, because the spec forces it: `pem-rfc7468` rejects headers and the `pem` crate
//! refuses `:` in header values (a GUN with a port) and writes CRLF (dependencies.md §4.2).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Most PEM blocks read from one input (an export bundle of many keys).
pub const MAX_BLOCKS: usize = 100_000;

/// One decoded PEM block. The body may be secret (unencrypted keys), so it is zeroized.
pub struct PemBlock {
    /// The label, e.g. `ENCRYPTED PRIVATE KEY`.
    pub label: String,
    /// Headers in file order (duplicates: the last one wins in [`PemBlock::header`]).
    pub headers: Vec<(String, String)>,
    /// The base64-decoded body.
    pub der: Zeroizing<Vec<u8>>,
}

impl PemBlock {
    /// The value of a header, if present (the last one, as Go's map keeps).
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for PemBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .field("headers", &self.headers)
            .field("der_len", &self.der.len())
            .finish()
    }
}

/// Encodes a block as Go's `pem.Encode` does: `Proc-Type` first, the other headers sorted by
/// byte value, a blank line after headers, standard base64 in 64-column lines, LF endings.
pub fn encode(label: &str, headers: &[(&str, &str)], der: &[u8]) -> String {
    let mut sorted: Vec<&(&str, &str)> = headers.iter().collect();
    sorted.sort_by(|a, b| {
        let rank = |k: &str| if k == "Proc-Type" { 0 } else { 1 };
        (rank(a.0), a.0).cmp(&(rank(b.0), b.0))
    });
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 128);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for (k, v) in &sorted {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push('\n');
    }
    if !sorted.is_empty() {
        out.push('\n');
    }
    let bytes = b64.as_bytes();
    for chunk in bytes.chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes the first PEM block in `input`, as Go's `pem.Decode` does (header values trimmed,
/// the blank line after headers optional). Text before the block is skipped.
pub fn decode_first(input: &[u8]) -> Result<PemBlock> {
    match decode_next(input)? {
        Some((block, _)) => Ok(block),
        None => Err(Error::invalid("no PEM block found")),
    }
}

/// Decodes every PEM block in `input` (at most [`MAX_BLOCKS`]).
pub fn decode_all(input: &[u8]) -> Result<Vec<PemBlock>> {
    let mut blocks = Vec::new();
    let mut rest = input;
    while let Some((block, next)) = decode_next(rest)? {
        if blocks.len() == MAX_BLOCKS {
            return Err(Error::invalid(format!("more than {MAX_BLOCKS} PEM blocks")));
        }
        blocks.push(block);
        rest = next;
    }
    if blocks.is_empty() {
        return Err(Error::invalid("no PEM block found"));
    }
    Ok(blocks)
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// Finds the next block; returns it and the input after it, or `None` when there is none.
fn decode_next(input: &[u8]) -> Result<Option<(PemBlock, &[u8])>> {
    let Some(start) = find(input, BEGIN) else {
        return Ok(None);
    };
    let after_begin = &input[start + BEGIN.len()..];
    let (label_line, mut rest) = split_line(after_begin);
    let label_line = trim_cr(label_line);
    let Some(label) = label_line.strip_suffix(DASHES) else {
        return Err(Error::invalid("malformed PEM BEGIN line"));
    };
    let label = std::str::from_utf8(label)
        .map_err(|_| Error::invalid("PEM label is not UTF-8"))?
        .to_owned();

    // Headers: lines containing ':' right after BEGIN, until the first line without one.
    let mut headers = Vec::new();
    loop {
        let (line, next) = split_line(rest);
        let line = trim_cr(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            break;
        };
        if line.starts_with(END) {
            break;
        }
        let key = text(&line[..colon])?.trim().to_owned();
        let value = text(&line[colon + 1..])?.trim().to_owned();
        headers.push((key, value));
        rest = next;
        if headers.len() > 64 {
            return Err(Error::invalid("too many PEM headers"));
        }
    }

    let mut end_marker = Vec::with_capacity(END.len() + label.len() + DASHES.len());
    end_marker.extend_from_slice(END);
    end_marker.extend_from_slice(label.as_bytes());
    end_marker.extend_from_slice(DASHES);
    let Some(end) = find(rest, &end_marker) else {
        return Err(Error::invalid(format!(
            "PEM block {label:?} has no matching END line (truncated file?)"
        )));
    };
    let body: Zeroizing<Vec<u8>> = Zeroizing::new(
        rest[..end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    );
    let der = STANDARD
        .decode(&*body)
        .map_err(|_| Error::invalid(format!("PEM block {label:?} holds invalid base64")))?;
    let (_, after) = split_line(&rest[end..]);
    Ok(Some((
        PemBlock {
            label,
            headers,
            der: Zeroizing::new(der),
        },
        after,
    )))
}

/// The first position of `needle` in `hay` (`None` for an empty needle). Scans for the first
/// byte and compares only there: a whole-window comparison at every offset dominated parsing.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if hay[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn split_line(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[]),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn text(bytes: &[u8]) -> Result<&str> {
    let s = std::str::from_utf8(bytes).map_err(|_| Error::invalid("PEM header is not UTF-8"))?;
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::invalid("PEM header holds control characters"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go() {
        let der: Vec<u8> = (0..100u8).collect();
        let pem = encode("X", &[("role", "targets"), ("gun", "a:1/b")], &der);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN X-----");
        assert_eq!(lines[1], "gun: a:1/b");
        assert_eq!(lines[2], "role: targets");
        assert_eq!(lines[3], "");
        assert_eq!(lines[4].len(), 64);
        assert!(pem.ends_with("-----END X-----\n"));
        let back = decode_first(pem.as_bytes()).expect("decodes");
        assert_eq!(&*back.der, &der);
        assert_eq!(back.header("gun"), Some("a:1/b"));
    }

    #[test]
    fn proc_type_first() {
        let pem = encode(
            "EC PRIVATE KEY",
            &[
                ("role", "r"),
                ("Proc-Type", "4,ENCRYPTED"),
                ("DEK-Info", "x"),
            ],
            b"abc",
        );
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(
            &lines[1..4],
            ["Proc-Type: 4,ENCRYPTED", "DEK-Info: x", "role: r"]
        );
    }

    #[test]
    fn no_blank_line_without_headers() {
        let pem = encode("CERTIFICATE", &[], b"abc");
        assert_eq!(
            pem,
            "-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n"
        );
    }

    #[test]
    fn lenient_like_go() {
        let text = b"junk\n-----BEGIN K-----\nrole:   root  \nYWJj\n-----END K-----\n-----BEGIN K-----\nYWJk\n-----END K-----\n";
        let all = decode_all(text).expect("decodes");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].header("role"), Some("root"));
        assert_eq!(&*all[1].der, b"abd");
    }

    #[test]
    fn rejects_truncated_and_bad_base64() {
        assert!(decode_first(b"-----BEGIN K-----\nYWJj\n").is_err());
        assert!(decode_first(b"-----BEGIN K-----\nY!Jj\n-----END K-----\n").is_err());
        assert!(decode_first(b"nothing here").is_err());
    }
}
