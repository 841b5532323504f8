//! The input layout of the `tuf_repository` fuzz target, shared with the seed generator
//! (keystore/examples/tuf_fuzz_seeds.rs includes this file): chunks separated by [`SEPARATOR`] —
//! the cached root.json (empty: none), the served root.json, timestamp.json, snapshot.json,
//! targets.json, targets/releases.json (empty: none), then `1.root.json`, `2.root.json`, …

/// Separates the files of one input.
pub(crate) const SEPARATOR: &[u8] = b"\n--8<--\n";

/// The chunks of an input.
pub(crate) fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(at) = data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(&data[..at]);
        data = &data[at + SEPARATOR.len()..];
    }
    out.push(data);
    out
}

/// An input made of `parts`.
pub(crate) fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(SEPARATOR)
}

/// The chunk that holds the server's file `file`, if the layout has one.
pub(crate) fn served_index(file: &str) -> Option<usize> {
    match file {
        "timestamp.json" => Some(2),
        "snapshot.json" => Some(3),
        "targets.json" => Some(4),
        "targets/releases.json" => Some(5),
        other => Some(5 + other.strip_suffix(".root.json")?.parse::<usize>().ok()?),
    }
}
