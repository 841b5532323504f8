//! The archive's container: a plain ustar file, written deterministically and read strictly.
//! Reading accepts only what [`write`] makes: regular files under known names, each once,
//! bounded in size and count, and nothing else in the file (every byte outside the entries'
//! headers and contents — padding, the end blocks — must be zero, and every header's checksum
//! holds), so that a change of any one byte is noticed.

use std::collections::BTreeMap;
use std::io::Read;

use crate::error::{Error, Result};

/// The largest archive read (a repository with every root version and every delegation at
/// their limits would not fit, but no real one comes near).
pub(super) const MAX_ARCHIVE: u64 = 256 << 20;

/// At most this many entries are read.
const MAX_ENTRIES: usize = 2048;

/// A tar block.
const BLOCK: u64 = 512;

fn bad(reason: impl Into<String>) -> Error {
    Error::InvalidMetadata {
        reason: reason.into(),
    }
}

/// The ustar file holding `files` in this order, each a regular file of mode 0644 owned by
/// root, dated `mtime` (seconds since the epoch).
pub(super) fn write(files: &[(String, Vec<u8>)], mtime: u64) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        builder
            .append_data(&mut header, path, bytes.as_slice())
            .map_err(|e| Error::Internal {
                what: format!("cannot add {path} to the archive: {e}"),
            })?;
    }
    builder.into_inner().map_err(|e| Error::Internal {
        what: format!("cannot finish the archive: {e}"),
    })
}

/// The entries of `bytes` by name. `allowed(name)` tells whether a name may appear and, if so,
/// how large its content may be.
pub(super) fn read(
    bytes: &[u8],
    allowed: impl Fn(&str) -> Option<u64>,
) -> Result<BTreeMap<String, Vec<u8>>> {
    if bytes.is_empty() || !(bytes.len() as u64).is_multiple_of(BLOCK) {
        return Err(bad(format!(
            "the archive is {} bytes, not a whole number of tar blocks: not an archive keytool wrote, or cut short",
            bytes.len()
        )));
    }
    let mut files = BTreeMap::new();
    // Where the bytes covered by entries end (the next header is expected there).
    let mut covered = 0u64;
    let mut archive = tar::Archive::new(bytes);
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("the archive is not a tar file: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("the archive is damaged: {e}")))?;
        if files.len() >= MAX_ENTRIES {
            return Err(bad(format!(
                "the archive has more than {MAX_ENTRIES} entries"
            )));
        }
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| bad("the archive has an entry whose name is not UTF-8"))?;
        let shown = crate::ids::clip(&name);
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad(format!(
                "the archive's entry {shown:?} is not a regular file"
            )));
        }
        let limit = allowed(&name)
            .ok_or_else(|| bad(format!("the archive holds an unexpected entry {shown:?}")))?;
        let size = entry.size();
        if size > limit {
            return Err(bad(format!(
                "the archive's entry {shown} is {size} bytes; at most {limit} are accepted"
            )));
        }
        if entry.raw_header_position() != covered {
            return Err(bad(format!(
                "the archive has data before its entry {shown} that belongs to no entry"
            )));
        }
        covered = entry.raw_file_position() + size.div_ceil(BLOCK) * BLOCK;
        if files.contains_key(&name) {
            return Err(bad(format!("the archive holds {shown} twice")));
        }
        let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("the archive's entry {shown} cannot be read: {e}")))?;
        let end = entry.raw_file_position() + size;
        if region(bytes, end, covered).is_none_or(|p| p.iter().any(|b| *b != 0)) {
            return Err(bad(format!(
                "the padding after the archive's entry {shown} is not zero"
            )));
        }
        files.insert(name, content);
    }
    let rest = region(bytes, covered, bytes.len() as u64).unwrap_or_default();
    if rest.len() < 2 * BLOCK as usize || rest.iter().any(|b| *b != 0) {
        return Err(bad(
            "the archive does not end with the zero blocks of a tar file (it was cut short or has data after its entries)",
        ));
    }
    Ok(files)
}

/// `bytes[from..to]`, if that is inside `bytes`.
fn region(bytes: &[u8], from: u64, to: u64) -> Option<&[u8]> {
    bytes.get(usize::try_from(from).ok()?..usize::try_from(to).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &str) -> Option<u64> {
        Some(1 << 20)
    }

    fn sample() -> Vec<u8> {
        write(
            &[
                ("a.json".into(), b"{\"a\":1}".to_vec()),
                ("dir/b.json".into(), vec![7; 700]),
            ],
            1_700_000_000,
        )
        .expect("writes")
    }

    #[test]
    fn round_trip_and_every_byte_counts() {
        let bytes = sample();
        let files = read(&bytes, any).expect("reads");
        assert_eq!(files["a.json"], b"{\"a\":1}");
        assert_eq!(files["dir/b.json"], vec![7; 700]);
        assert_eq!(
            write(
                &[
                    ("a.json".into(), b"{\"a\":1}".to_vec()),
                    ("dir/b.json".into(), vec![7; 700])
                ],
                1_700_000_000
            )
            .expect("again"),
            bytes,
            "deterministic"
        );
        // Any one byte changed (headers, contents, padding, end blocks) changes what is read or
        // is refused; contents are compared by the callers' hashes.
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            if let Ok(f) = read(&t, any) {
                assert_ne!(f, files, "byte {i} flipped unnoticed");
            }
        }
    }

    #[test]
    fn hostile_archives_are_refused() {
        let refused = |bytes: &[u8], allowed: &dyn Fn(&str) -> Option<u64>, text: &str| {
            let err = read(bytes, allowed).expect_err(text);
            assert!(err.to_string().contains(text), "{err}");
        };
        refused(b"", &any, "not a whole number");
        assert!(read(&[0u8; 1024], any).expect("empty").is_empty());
        refused(&vec![b'x'; 2048], &any, "");
        let bytes = sample();
        refused(
            &bytes,
            &|n| (n == "a.json").then_some(100),
            "unexpected entry",
        );
        refused(&bytes, &|_| Some(10), "at most 10");
        refused(&bytes[..bytes.len() - 512], &any, "");
        let twice = write(&[("a".into(), vec![1]), ("a".into(), vec![2])], 0).expect("writes");
        refused(&twice, &any, "twice");
        // A link and a path escaping the directory.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_link_name("/etc/passwd").expect("target");
        builder
            .append_data(&mut header, "a.json", &[][..])
            .expect("link");
        refused(
            &builder.into_inner().expect("tar"),
            &any,
            "not a regular file",
        );
        let mut escape = write(&[("xx/a.json".into(), vec![1])], 0).expect("writes");
        escape[..2].copy_from_slice(b"..");
        let mut header = tar::Header::from_byte_slice(&escape[..512]).clone();
        header.set_cksum();
        escape[..512].copy_from_slice(header.as_bytes());
        refused(
            &escape,
            &|n| (n == "xx/a.json").then_some(10),
            "unexpected entry",
        );
    }
}
