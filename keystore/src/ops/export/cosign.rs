//! `key export --format cosign`: the key in cosign's encrypted format and its public key, sealed
//! under the passphrase that opened it (what `COSIGN_PASSWORD` then has to be).

use std::path::{Path, PathBuf};

use super::files::{NewFile, write_new_files};
use crate::error::{Argument, Error, Result};
use crate::ids::KeyId;
use crate::key::Algorithm;
use crate::key::interchange;
use crate::ops::{KdfSettings, load_key_with};
use crate::passphrase::PassphraseSource;
use crate::trust_dir::TrustDir;

/// What a cosign export wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CosignExport {
    /// The key exported.
    pub key_id: KeyId,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// The encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY`, mode 0600).
    pub private_key: PathBuf,
    /// The public key (`PUBLIC KEY` PEM): `cosign verify --key` takes it.
    pub public_key: PathBuf,
    /// Where the passphrase came from (the same one now seals the cosign file).
    pub passphrase_source: String,
}

/// Writes key `id` as cosign's `<output>` (e.g. `cosign.key`) and `<output stem>.pub`, encrypted
/// with the passphrase that opens the key in the trust directory. Neither file may exist unless
/// `overwrite`; on any failure nothing new is left behind.
pub fn export_cosign(
    dir: &TrustDir,
    id: &KeyId,
    source: &dyn PassphraseSource,
    kdf: &KdfSettings,
    output: &Path,
    overwrite: bool,
) -> Result<CosignExport> {
    let (_, _, key, supplied) = load_key_with(dir, id, source, kdf)?;
    let Some(supplied) = supplied else {
        return Err(Error::InvalidArgument {
            what: Argument::Key,
            reason: format!(
                "key {id} is stored unencrypted, and cosign's format is always sealed under a \
                 passphrase; give the key a passphrase first"
            ),
        });
    };
    let public_path = output.with_extension("pub");
    if public_path == output {
        return Err(Error::InvalidArgument {
            what: Argument::OutputFile,
            reason: format!(
                "{} would also be the public key's file; name the private key e.g. cosign.key",
                output.display()
            ),
        });
    }
    let sealed = interchange::cosign_encrypted_pem(&key, supplied.passphrase.expose())?;
    let public = interchange::public_pem(key.public());
    write_new_files(
        &[
            NewFile::new(output, sealed.as_bytes())?,
            NewFile::new(&public_path, public.as_bytes())?,
        ],
        overwrite,
    )?;
    Ok(CosignExport {
        key_id: id.clone(),
        algorithm: key.algorithm(),
        private_key: output.to_path_buf(),
        public_key: public_path,
        passphrase_source: supplied.origin,
    })
}
