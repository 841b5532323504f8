//! PKCS#8 `EncryptedPrivateKeyInfo` with PBES2: parsed with bounds before any key derivation,
//! decrypted with PBKDF2 (HMAC-SHA1/256/512) and AES-CBC, and written as notary writes it.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use der::asn1::{AnyRef, OctetStringRef, UintRef};
use der::{Decode, Reader, Tag};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::asn1;
use crate::error::{Error, FileLabel, Result};

/// Default PBKDF2 iteration count for keys keytool writes (notary reads any count).
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// The iteration count notary itself writes (`--notary-compat`).
pub const NOTARY_ITERATIONS: u32 = 2048;
/// Default cap on the iteration count of a key file read, checked before deriving.
pub const DEFAULT_MAX_ITERATIONS: u32 = 10_000_000;
/// Longest salt accepted.
const MAX_SALT: usize = 1024;

/// The pseudo-random function of PBKDF2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prf {
    /// HMAC-SHA1: notary's, written by omitting the field.
    Sha1,
    /// HMAC-SHA256: OpenSSL 3's default (notary cannot read it).
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// The block cipher, always in CBC mode with a 16-byte IV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// AES-128-CBC.
    Aes128,
    /// AES-192-CBC.
    Aes192,
    /// AES-256-CBC (the only one notary reads and the one keytool writes).
    Aes256,
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }
}

/// Parameters read from (or written to) a PBES2 envelope. None of them is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// PBKDF2 PRF.
    pub prf: Prf,
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// PBKDF2 salt.
    pub salt: Vec<u8>,
    /// Cipher.
    pub cipher: Cipher,
    /// CBC initialisation vector.
    pub iv: [u8; 16],
}

impl Params {
    /// Whether notary 0.7 and docker can decrypt a file with these parameters.
    pub fn notary_readable(&self) -> bool {
        self.prf == Prf::Sha1 && self.cipher == Cipher::Aes256
    }
}

/// A parsed envelope: parameters and ciphertext.
#[derive(Debug)]
pub struct Envelope<'a> {
    /// The parameters.
    pub params: Params,
    /// The ciphertext (a non-zero multiple of 16 bytes).
    pub ciphertext: &'a [u8],
}

/// Parses an `EncryptedPrivateKeyInfo` and checks its cost against `max_iterations`.
pub fn parse(der: &[u8], max_iterations: u32) -> Result<Envelope<'_>> {
    let bad = |_| Error::invalid("the encrypted key is not valid DER");
    let any = AnyRef::from_der(der).map_err(bad)?;
    let (alg, ciphertext) = any
        .sequence(|r| {
            let alg: AlgorithmIdentifierRef<'_> = r.decode()?;
            let ct: &OctetStringRef = r.decode()?;
            Ok::<_, der::Error>((alg, ct.as_bytes()))
        })
        .map_err(bad)?;
    if alg.oid != asn1::PBES2 {
        return Err(Error::unsupported(format!(
            "encryption scheme {} (only PBES2 is supported)",
            alg.oid
        )));
    }
    let params = alg
        .parameters
        .ok_or_else(|| Error::invalid("PBES2 parameters are missing"))?;
    let (kdf, enc) = params
        .sequence(|r| {
            let kdf: AlgorithmIdentifierRef<'_> = r.decode()?;
            let enc: AlgorithmIdentifierRef<'_> = r.decode()?;
            Ok::<_, der::Error>((kdf, enc))
        })
        .map_err(|_| Error::invalid("PBES2 parameters are not valid DER"))?;

    let cipher = match enc.oid {
        o if o == asn1::AES256_CBC => Cipher::Aes256,
        o if o == asn1::AES192_CBC => Cipher::Aes192,
        o if o == asn1::AES128_CBC => Cipher::Aes128,
        o => {
            return Err(Error::unsupported(format!(
                "cipher {o} (AES-CBC is supported; notary and docker read only AES-256-CBC)"
            )));
        }
    };
    let iv_bytes = enc
        .parameters
        .ok_or_else(|| Error::invalid("the cipher IV is missing"))?
        .decode_as::<&OctetStringRef>()
        .map_err(|_| Error::invalid("the cipher IV is not an OCTET STRING"))?
        .as_bytes();
    let iv: [u8; 16] = iv_bytes
        .try_into()
        .map_err(|_| Error::invalid(format!("the IV must be 16 bytes, got {}", iv_bytes.len())))?;

    if kdf.oid == asn1::SCRYPT {
        return Err(Error::unsupported(
            "scrypt key derivation (notary and docker cannot read it either; use PBKDF2)",
        ));
    }
    if kdf.oid != asn1::PBKDF2 {
        return Err(Error::unsupported(format!(
            "key derivation {} (only PBKDF2 is supported)",
            kdf.oid
        )));
    }
    let kdf_params = kdf
        .parameters
        .ok_or_else(|| Error::invalid("PBKDF2 parameters are missing"))?;
    let (salt, iterations, key_len, prf) = kdf_params
        .sequence(|r| {
            let salt: &OctetStringRef = r.decode()?;
            let iterations: UintRef<'_> = r.decode()?;
            let key_len = if !r.is_finished() && Tag::peek(r)? == Tag::Integer {
                Some(r.decode::<UintRef<'_>>()?)
            } else {
                None
            };
            let prf = if r.is_finished() {
                None
            } else {
                Some(r.decode::<AlgorithmIdentifierRef<'_>>()?)
            };
            Ok::<_, der::Error>((salt.as_bytes(), iterations, key_len, prf))
        })
        .map_err(|_| Error::invalid("PBKDF2 parameters are not valid DER"))?;

    let iterations = uint_value(iterations.as_bytes());
    if iterations == 0 {
        return Err(Error::invalid("the PBKDF2 iteration count is zero"));
    }
    if iterations > u64::from(max_iterations) {
        return Err(Error::ExcessiveKdfCost {
            file: FileLabel::none(),
            iterations,
            limit: max_iterations,
        });
    }
    if salt.is_empty() || salt.len() > MAX_SALT {
        return Err(Error::invalid(format!(
            "the PBKDF2 salt must be 1 to {MAX_SALT} bytes, got {}",
            salt.len()
        )));
    }
    if let Some(len) = key_len
        && uint_value(len.as_bytes()) != cipher.key_len() as u64
    {
        return Err(Error::invalid(
            "the PBKDF2 key length does not match the cipher",
        ));
    }
    let prf = match prf {
        None => Prf::Sha1,
        Some(a) if a.oid == asn1::HMAC_SHA1 => Prf::Sha1,
        Some(a) if a.oid == asn1::HMAC_SHA256 => Prf::Sha256,
        Some(a) if a.oid == asn1::HMAC_SHA512 => Prf::Sha512,
        Some(a) => {
            return Err(Error::unsupported(format!(
                "PBKDF2 PRF {} (HMAC-SHA1, -SHA256 and -SHA512 are supported)",
                a.oid
            )));
        }
    };
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return Err(Error::invalid(format!(
            "the ciphertext length {} is not a non-zero multiple of 16",
            ciphertext.len()
        )));
    }
    Ok(Envelope {
        params: Params {
            prf,
            iterations: iterations as u32,
            salt: salt.to_vec(),
            cipher,
            iv,
        },
        ciphertext,
    })
}

/// Decrypts an envelope. `None` means the padding did not check out: a wrong passphrase.
pub fn decrypt(env: &Envelope<'_>, passphrase: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let p = &env.params;
    let key = derive(passphrase, p);
    let mut buf = Zeroizing::new(env.ciphertext.to_vec());
    let len = match p.cipher {
        Cipher::Aes128 => cbc_decrypt::<Aes128>(&key, &p.iv, &mut buf),
        Cipher::Aes192 => cbc_decrypt::<Aes192>(&key, &p.iv, &mut buf),
        Cipher::Aes256 => cbc_decrypt::<Aes256>(&key, &p.iv, &mut buf),
    }?;
    buf.truncate(len);
    Some(buf)
}

/// Encrypts `plain` as notary does: PBES2, PBKDF2-HMAC-SHA1 with the PRF field omitted,
/// AES-256-CBC. Returns the DER of the `EncryptedPrivateKeyInfo`.
pub fn encrypt(
    plain: &[u8],
    passphrase: &[u8],
    iterations: u32,
    salt: &[u8],
    iv: [u8; 16],
) -> Vec<u8> {
    let params = Params {
        prf: Prf::Sha1,
        iterations,
        salt: salt.to_vec(),
        cipher: Cipher::Aes256,
        iv,
    };
    let key = derive(passphrase, &params);
    let mut buf = Zeroizing::new(vec![0u8; plain.len() + 16]);
    buf[..plain.len()].copy_from_slice(plain);
    let ct = cbc::Encryptor::<Aes256>::new_from_slices(&key[..32], &iv)
        .ok()
        .and_then(|enc| enc.encrypt_padded::<Pkcs7>(&mut buf, plain.len()).ok())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let pbkdf2 = asn1::seq(&[
        &asn1::oid(&asn1::PBKDF2),
        &asn1::seq(&[&asn1::octets(salt), &asn1::uint(u64::from(iterations))]),
    ]);
    let aes = asn1::seq(&[&asn1::oid(&asn1::AES256_CBC), &asn1::octets(&iv)]);
    let alg = asn1::seq(&[&asn1::oid(&asn1::PBES2), &asn1::seq(&[&pbkdf2, &aes])]);
    asn1::seq(&[&alg, &asn1::octets(&ct)])
}

/// Fresh random salt (8 bytes, as notary) and IV.
pub fn random_salt_iv() -> Result<([u8; 8], [u8; 16])> {
    let mut salt = [0u8; 8];
    let mut iv = [0u8; 16];
    getrandom::fill(&mut salt)
        .and_then(|()| getrandom::fill(&mut iv))
        .map_err(|e| Error::Internal {
            what: format!("the OS random generator failed: {e}"),
        })?;
    Ok((salt, iv))
}

fn derive(passphrase: &[u8], p: &Params) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    let out = &mut key[..p.cipher.key_len()];
    match p.prf {
        Prf::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(passphrase, &p.salt, p.iterations, out),
        Prf::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase, &p.salt, p.iterations, out),
        Prf::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(passphrase, &p.salt, p.iterations, out),
    }
    key
}

fn cbc_decrypt<C>(key: &[u8; 32], iv: &[u8; 16], buf: &mut [u8]) -> Option<usize>
where
    C: cbc::cipher::BlockCipherDecrypt + cbc::cipher::KeyInit,
    cbc::Decryptor<C>: KeyIvInit,
{
    let klen = <C as cbc::cipher::KeySizeUser>::key_size();
    let dec = cbc::Decryptor::<C>::new_from_slices(&key[..klen], iv).ok()?;
    dec.decrypt_padded::<Pkcs7>(buf).ok().map(<[u8]>::len)
}

/// The value of a DER unsigned integer, saturating at `u64::MAX`.
fn uint_value(bytes: &[u8]) -> u64 {
    if bytes.len() > 8 {
        return u64::MAX;
    }
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let der = encrypt(b"hello world, this is a key", b"pw", 10, &[1; 8], [2; 16]);
        let env = parse(&der, 100).expect("parses");
        assert_eq!(env.params.iterations, 10);
        assert!(env.params.notary_readable());
        assert_eq!(
            decrypt(&env, b"pw").as_deref().map(Vec::as_slice),
            Some(&b"hello world, this is a key"[..])
        );
        // A wrong key almost always breaks the padding; the caller also checks the DER.
        let _ = decrypt(&env, b"wrong");
    }

    #[test]
    fn cost_is_checked_before_deriving() {
        let der = encrypt(b"x", b"pw", 5000, &[1; 8], [2; 16]);
        assert!(matches!(
            parse(&der, 4999),
            Err(Error::ExcessiveKdfCost {
                iterations: 5000,
                ..
            })
        ));
    }
}
