//! A private key file: the PEM block with its `role:`/`gun:` headers, what is inside it, and
//! how to unlock it or write it as notary does.

use super::pem::{self, PemBlock};
use super::{Algorithm, PrivateKey, legacy, pbes2, pkcs8};
use crate::error::{Error, Result};
use crate::ids::{Gun, Role};
use crate::secret::Passphrase;

/// PEM label of encrypted PKCS#8 keys.
pub const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";
/// PEM label of unencrypted PKCS#8 keys.
pub const PLAIN_LABEL: &str = "PRIVATE KEY";

/// How the key inside the block is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// PKCS#8 encrypted with PBES2 (what notary and docker write).
    EncryptedPkcs8,
    /// Unencrypted PKCS#8.
    Pkcs8,
    /// A legacy type-specific block (`EC PRIVATE KEY`, …), encrypted when `dek` is set.
    Legacy {
        /// The algorithm implied by the label.
        algorithm: Algorithm,
        /// The RFC 1423 encryption, if any.
        dek: Option<legacy::DekInfo>,
    },
}

/// A parsed key file (not yet decrypted).
#[derive(Debug)]
pub struct KeyFile {
    block: PemBlock,
    role: Role,
    gun: Option<Gun>,
    format: Format,
}

/// The result of trying a passphrase.
#[derive(Debug)]
pub enum Unlock {
    /// The key.
    Key(PrivateKey),
    /// The passphrase did not decrypt the key.
    WrongPassphrase,
}

impl KeyFile {
    /// Parses the first PEM block of a key file.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::from_block(pem::decode_first(bytes)?)
    }

    /// Interprets one PEM block (e.g. from an export bundle).
    pub fn from_block(block: PemBlock) -> Result<Self> {
        let role = match block.header("role") {
            Some(r) => r
                .parse::<Role>()
                .map_err(|_| Error::invalid("the role header is not a valid role"))?,
            None => Role::Other(String::new()),
        };
        let gun = match block.header("gun") {
            Some("") | None => None,
            Some(g) => Some(Gun::stored(g).map_err(|_| {
                Error::invalid(format!(
                    "the gun header {:?} is not a valid repository name",
                    crate::ids::clip(g)
                ))
            })?),
        };
        let format = match block.label.as_str() {
            ENCRYPTED_LABEL => Format::EncryptedPkcs8,
            PLAIN_LABEL => Format::Pkcs8,
            "EC PRIVATE KEY" | "RSA PRIVATE KEY" | "ED25519 PRIVATE KEY" => {
                let algorithm = match block.label.as_str() {
                    "EC PRIVATE KEY" => Algorithm::Ecdsa,
                    "RSA PRIVATE KEY" => Algorithm::Rsa,
                    _ => Algorithm::Ed25519,
                };
                let dek = match block.header("Proc-Type") {
                    Some("4,ENCRYPTED") => {
                        let info = block.header("DEK-Info").ok_or_else(|| {
                            Error::invalid("Proc-Type says ENCRYPTED but DEK-Info is missing")
                        })?;
                        Some(legacy::parse_dek_info(info)?)
                    }
                    Some(other) => {
                        return Err(Error::unsupported(format!(
                            "Proc-Type {:?}",
                            crate::ids::clip(other)
                        )));
                    }
                    None => None,
                };
                Format::Legacy { algorithm, dek }
            }
            other => {
                return Err(Error::unsupported(format!(
                    "PEM type {:?} is not a private key",
                    crate::ids::clip(other)
                )));
            }
        };
        Ok(KeyFile {
            block,
            role,
            gun,
            format,
        })
    }

    /// The role from the `role:` header (empty when absent, as notary lists it).
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The GUN from the `gun:` header.
    pub fn gun(&self) -> Option<&Gun> {
        self.gun.as_ref()
    }

    /// The `path:` header of notary export bundles.
    pub fn path_header(&self) -> Option<&str> {
        self.block.header("path")
    }

    /// The storage format (tests check it; the library asks narrower questions).
    #[cfg(any(test, feature = "internals"))]
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Whether a passphrase is needed to read the key.
    pub fn is_encrypted(&self) -> bool {
        matches!(
            self.format,
            Format::EncryptedPkcs8 | Format::Legacy { dek: Some(_), .. }
        )
    }

    /// The algorithm, when it can be told without decrypting. For encrypted PKCS#8 it is
    /// inferred from the ciphertext size of the encodings notary and OpenSSL write.
    pub fn algorithm_hint(&self) -> Option<Algorithm> {
        match &self.format {
            Format::Legacy { algorithm, .. } => Some(*algorithm),
            Format::Pkcs8 => pkcs8::decode(&self.block.der)
                .ok()
                .flatten()
                .map(|k| k.algorithm()),
            Format::EncryptedPkcs8 => {
                let env = pbes2::parse(&self.block.der, u32::MAX).ok()?;
                match env.ciphertext.len() {
                    // notary's P-256 (150 bytes) and OpenSSL's (138) inner encodings.
                    144 | 160 => Some(Algorithm::Ecdsa),
                    // notary's Ed25519 form (116 bytes).
                    128 => Some(Algorithm::Ed25519),
                    n if n >= 600 => Some(Algorithm::Rsa),
                    _ => None,
                }
            }
        }
    }

    /// The PBES2 parameters of an encrypted PKCS#8 file (for reporting; nothing secret).
    pub fn pbes2_params(&self) -> Option<pbes2::Params> {
        match self.format {
            Format::EncryptedPkcs8 => pbes2::parse(&self.block.der, u32::MAX)
                .ok()
                .map(|e| e.params),
            _ => None,
        }
    }

    /// Checks the structure and cost of the encryption without deriving any key.
    pub fn check(&self, max_iterations: u32) -> Result<()> {
        if let Format::EncryptedPkcs8 = self.format {
            pbes2::parse(&self.block.der, max_iterations)?;
        }
        Ok(())
    }

    /// Decrypts (or, for unencrypted files, decodes) the key. The iteration cap is checked
    /// before any key derivation.
    pub fn unlock(&self, passphrase: Option<&Passphrase>, max_iterations: u32) -> Result<Unlock> {
        let pass = passphrase.map(Passphrase::expose).unwrap_or_default();
        match &self.format {
            Format::EncryptedPkcs8 => {
                let env = pbes2::parse(&self.block.der, max_iterations)?;
                let Some(plain) = pbes2::decrypt(&env, pass) else {
                    return Ok(Unlock::WrongPassphrase);
                };
                Ok(match pkcs8::decode(&plain)? {
                    Some(key) => Unlock::Key(key),
                    None => Unlock::WrongPassphrase,
                })
            }
            Format::Pkcs8 => match pkcs8::decode(&self.block.der)? {
                Some(key) => Ok(Unlock::Key(key)),
                None => Err(Error::invalid("the PRIVATE KEY block is not valid PKCS#8")),
            },
            Format::Legacy { algorithm, dek } => match dek {
                Some(info) => {
                    let Some(plain) = legacy::decrypt(info, &self.block.der, pass)? else {
                        return Ok(Unlock::WrongPassphrase);
                    };
                    Ok(match legacy_key(*algorithm, &plain) {
                        Ok(key) => Unlock::Key(key),
                        Err(_) => Unlock::WrongPassphrase,
                    })
                }
                None => legacy_key(*algorithm, &self.block.der).map(Unlock::Key),
            },
        }
    }

    /// Re-emits the stored block unchanged, with `path: <id>` added (notary's export format).
    pub fn export_pem(&self, path: &str) -> String {
        let mut headers: Vec<(&str, &str)> = self
            .block
            .headers
            .iter()
            .filter(|(k, _)| k != "path")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        headers.push(("path", path));
        pem::encode(&self.block.label, &headers, &self.block.der)
    }

    /// Re-emits the stored block, unchanged, with notary's headers for `role` and `gun` (and
    /// any RFC 1423 headers) and without `path:`: how notary stores an imported or migrated key.
    pub fn rewrap(&self, role: &Role, gun: Option<&Gun>) -> String {
        let mut hdrs: Vec<(&str, &str)> = self
            .block
            .headers
            .iter()
            .filter(|(k, _)| k == "Proc-Type" || k == "DEK-Info")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        hdrs.extend(headers(role, gun));
        pem::encode(&self.block.label, &hdrs, &self.block.der)
    }

    /// Whether notary 0.7 and docker can decrypt this file as it is.
    pub fn notary_readable(&self) -> bool {
        match &self.format {
            Format::EncryptedPkcs8 => self.pbes2_params().is_some_and(|p| p.notary_readable()),
            Format::Pkcs8 | Format::Legacy { .. } => true,
        }
    }
}

fn legacy_key(algorithm: Algorithm, der: &[u8]) -> Result<PrivateKey> {
    let secret = match algorithm {
        Algorithm::Ecdsa => pkcs8::sec1(der)?,
        Algorithm::Rsa => {
            pkcs8::rsa_spki(der)?;
            super::Secret::Rsa(zeroize::Zeroizing::new(der.to_vec()))
        }
        Algorithm::Ed25519 => pkcs8::ed25519(der)?,
    };
    PrivateKey::from_secret(secret)
}

/// The headers notary writes for a key: `role`, plus `gun` only for targets, snapshot and
/// timestamp keys (spec §2.1).
fn headers<'a>(role: &'a Role, gun: Option<&'a Gun>) -> Vec<(&'static str, &'a str)> {
    let mut h = vec![("role", role.as_str())];
    if let Some(g) = gun.filter(|_| role.carries_gun()) {
        h.push(("gun", g.as_str()));
    }
    if role.as_str().is_empty() {
        h.retain(|(k, _)| *k != "role");
    }
    h
}

/// Writes a key file as notary does, with a fresh random salt and IV.
pub fn encode(
    key: &PrivateKey,
    role: &Role,
    gun: Option<&Gun>,
    passphrase: &Passphrase,
    iterations: u32,
) -> Result<String> {
    let (salt, iv) = pbes2::random_salt_iv()?;
    encode_with(key, role, gun, passphrase, iterations, &salt, iv)
}

/// Writes a key file with the given salt and IV (for reproducing notary's bytes in tests).
/// An empty passphrase writes an unencrypted `PRIVATE KEY`, as notary's library does.
pub fn encode_with(
    key: &PrivateKey,
    role: &Role,
    gun: Option<&Gun>,
    passphrase: &Passphrase,
    iterations: u32,
    salt: &[u8],
    iv: [u8; 16],
) -> Result<String> {
    let inner = pkcs8::encode(key)?;
    let hdrs = headers(role, gun);
    if passphrase.is_empty() {
        return Ok(pem::encode(PLAIN_LABEL, &hdrs, &inner));
    }
    let der = pbes2::encrypt(&inner, passphrase.expose(), iterations, salt, iv);
    Ok(pem::encode(ENCRYPTED_LABEL, &hdrs, &der))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// notary-compat.md §10 TV2.
    pub(crate) const TV2: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
role: root

MIHuMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAjlKTB9V2EZZwICCAAw
HQYJYIZIAWUDBAEqBBBU0qDbd9KZAc7JPyXLdTL9BIGgnH1ZmkldStm1eITSrIoZ
0p0+R6Dtj/fxhHf2cf8eKMA+2NVvYgMCu+UUe1nTEU98M0oVFnUYbfSpm8r9SIJC
ZvSXjIFkJmSr86L3Nmc92S3aEsE9S/Lw/BhfhehDrapJqD0phB053QUjL3P7Ecxn
oRC8Zrbp/2xS0o8KB4J+tXmew5ya9EiT8glZrYSE9qSQnHcAO2FyTU0POG++7/4g
fQ==
-----END ENCRYPTED PRIVATE KEY-----
";
    const TV2_ID: &str = "23161cb1681ee89cba69d824790ef782d8db7f135a78e853f7f0be45edd66136";

    fn unlock(file: &KeyFile, pass: &str) -> Unlock {
        file.unlock(Some(&Passphrase::new(pass.into())), 1_000_000)
            .expect("no error")
    }

    #[test]
    fn tv2_decrypts_and_reencrypts_byte_for_byte() {
        let file = KeyFile::parse(TV2.as_bytes()).expect("parses");
        assert_eq!(file.role(), &Role::Root);
        assert!(file.is_encrypted());
        assert_eq!(file.algorithm_hint(), Some(Algorithm::Ecdsa));
        let Unlock::Key(key) = unlock(&file, "rootpass123") else {
            panic!("TV2 must decrypt with rootpass123");
        };
        assert_eq!(key.id().as_str(), TV2_ID);
        let salt = hex::decode("e529307d57611967").expect("hex");
        let iv: [u8; 16] = hex::decode("54d2a0db77d29901cec93f25cb7532fd")
            .expect("hex")
            .try_into()
            .expect("16");
        let again = encode_with(
            &key,
            &Role::Root,
            None,
            &Passphrase::new("rootpass123".into()),
            2048,
            &salt,
            iv,
        )
        .expect("encodes");
        assert_eq!(again, TV2);
    }

    #[test]
    fn tv2_wrong_passphrase() {
        let file = KeyFile::parse(TV2.as_bytes()).expect("parses");
        assert!(matches!(
            unlock(&file, "rootpass124"),
            Unlock::WrongPassphrase
        ));
        assert!(matches!(unlock(&file, ""), Unlock::WrongPassphrase));
    }

    #[test]
    fn gun_only_for_repository_roles() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let gun: Gun = "example.com/org/repo".parse().expect("gun");
        let pass = Passphrase::new("pw".into());
        let t = encode(&key, &Role::Targets, Some(&gun), &pass, 2048).expect("enc");
        assert!(t.starts_with(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/org/repo\nrole: targets\n\n"
        ));
        let r = encode(&key, &Role::Root, Some(&gun), &pass, 2048).expect("enc");
        assert!(r.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n"));
        let d = encode(
            &key,
            &"targets/releases".parse().expect("role"),
            Some(&gun),
            &pass,
            2048,
        )
        .expect("enc");
        assert!(!d.contains("gun:"));
    }

    #[test]
    fn empty_passphrase_writes_plain_pkcs8() {
        let key = PrivateKey::generate_ecdsa().expect("key");
        let text = encode(
            &key,
            &Role::Root,
            None,
            &Passphrase::new(String::new()),
            2048,
        )
        .expect("enc");
        let file = KeyFile::parse(text.as_bytes()).expect("parses");
        assert!(!file.is_encrypted());
        let Ok(Unlock::Key(back)) = file.unlock(None, 10) else {
            panic!("plain key decodes")
        };
        assert_eq!(back.id(), key.id());
    }
}
