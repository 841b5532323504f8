//! Legacy RFC 1423 keys (`Proc-Type: 4,ENCRYPTED` + `DEK-Info`), as notary 0.1–0.3 wrote them
//! and as Go's `x509.DecryptPEMBlock` reads them: EVP_BytesToKey with MD5 and `IV[:8]` as salt.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit};
use des::{Des, TdesEde3};
use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A legacy cipher named in `DEK-Info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyCipher {
    /// DES-CBC.
    Des,
    /// DES-EDE3-CBC.
    DesEde3,
    /// AES-128-CBC.
    Aes128,
    /// AES-192-CBC.
    Aes192,
    /// AES-256-CBC.
    Aes256,
}

impl LegacyCipher {
    fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "DES-CBC" => LegacyCipher::Des,
            "DES-EDE3-CBC" => LegacyCipher::DesEde3,
            "AES-128-CBC" => LegacyCipher::Aes128,
            "AES-192-CBC" => LegacyCipher::Aes192,
            "AES-256-CBC" => LegacyCipher::Aes256,
            other => {
                return Err(Error::unsupported(format!(
                    "legacy PEM cipher {:?} (DES-CBC, DES-EDE3-CBC and AES-CBC are supported)",
                    crate::ids::clip(other)
                )));
            }
        })
    }

    fn key_len(self) -> usize {
        match self {
            LegacyCipher::Des => 8,
            LegacyCipher::DesEde3 | LegacyCipher::Aes192 => 24,
            LegacyCipher::Aes128 => 16,
            LegacyCipher::Aes256 => 32,
        }
    }

    fn block_len(self) -> usize {
        match self {
            LegacyCipher::Des | LegacyCipher::DesEde3 => 8,
            _ => 16,
        }
    }
}

/// The parsed `DEK-Info` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DekInfo {
    /// The cipher.
    pub cipher: LegacyCipher,
    /// The IV (its first 8 bytes are the KDF salt).
    pub iv: Vec<u8>,
}

/// Parses `DEK-Info: <cipher>,<hex IV>` and checks the IV length.
pub fn parse_dek_info(value: &str) -> Result<DekInfo> {
    let (name, iv_hex) = value
        .split_once(',')
        .ok_or_else(|| Error::invalid("the DEK-Info header is malformed"))?;
    let cipher = LegacyCipher::parse(name.trim())?;
    let iv =
        hex::decode(iv_hex.trim()).map_err(|_| Error::invalid("the DEK-Info IV is not hex"))?;
    if iv.len() != cipher.block_len() {
        return Err(Error::invalid(format!(
            "the DEK-Info IV must be {} bytes, got {}",
            cipher.block_len(),
            iv.len()
        )));
    }
    Ok(DekInfo { cipher, iv })
}

/// Decrypts a legacy body. `None` means the padding did not check out (wrong passphrase).
pub fn decrypt(
    info: &DekInfo,
    body: &[u8],
    passphrase: &[u8],
) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let block = info.cipher.block_len();
    if body.is_empty() || !body.len().is_multiple_of(block) {
        return Err(Error::invalid(format!(
            "the encrypted body length {} is not a multiple of {block}",
            body.len()
        )));
    }
    let key = bytes_to_key(passphrase, &info.iv[..8], info.cipher.key_len());
    let mut buf = Zeroizing::new(body.to_vec());
    let len = match info.cipher {
        LegacyCipher::Des => run::<Des>(&key, &info.iv, &mut buf),
        LegacyCipher::DesEde3 => run::<TdesEde3>(&key, &info.iv, &mut buf),
        LegacyCipher::Aes128 => run::<Aes128>(&key, &info.iv, &mut buf),
        LegacyCipher::Aes192 => run::<Aes192>(&key, &info.iv, &mut buf),
        LegacyCipher::Aes256 => run::<Aes256>(&key, &info.iv, &mut buf),
    };
    Ok(len.map(|len| {
        buf.truncate(len);
        buf
    }))
}

fn run<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Option<usize>
where
    C: BlockCipherDecrypt + KeyInit,
    cbc::Decryptor<C>: KeyIvInit,
{
    let dec = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    dec.decrypt_padded::<Pkcs7>(buf).ok().map(<[u8]>::len)
}

/// OpenSSL's EVP_BytesToKey with MD5 and one round, as Go's `DecryptPEMBlock`.
fn bytes_to_key(passphrase: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut prev: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    while out.len() < len {
        let mut h = Md5::new();
        h.update(&prev[..]);
        h.update(passphrase);
        h.update(salt);
        *prev = h.finalize().to_vec();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dek_info_is_checked() {
        assert!(parse_dek_info("AES-256-CBC,00112233445566778899AABBCCDDEEFF").is_ok());
        assert!(parse_dek_info("AES-256-CBC,0011").is_err());
        assert!(parse_dek_info("DES-EDE3-CBC,0011223344556677").is_ok());
        assert!(parse_dek_info("RC2-CBC,0011223344556677").is_err());
        assert!(parse_dek_info("garbage").is_err());
    }

    #[test]
    fn openssl_bytes_to_key_vector() {
        // `openssl enc -aes-256-cbc -k password -S 0102030405060708 -P -md md5`
        let key = bytes_to_key(b"password", &[1, 2, 3, 4, 5, 6, 7, 8], 32);
        assert_eq!(
            hex::encode_upper(&key[..]),
            "E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3457B99436B51CE02"
        );
    }
}
