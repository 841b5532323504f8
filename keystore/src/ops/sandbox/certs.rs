//! The sandbox's own certificate authority and the Notary server's TLS certificate, made fresh
//! by every `up`: the server answers as `notaryserver` in the network and as 127.0.0.1 /
//! localhost on this machine. Only the CA's certificate is kept for clients; its key is never
//! written.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use super::images::NOTARY_CONFIG_DIR;
use super::layout::SandboxSettings;
use crate::error::{Error, Result};
use crate::key::cert::civil;
use crate::trust_dir::write_atomic;

/// Validity of the sandbox's certificates, in days from yesterday.
const VALID_DAYS: u64 = 365;
/// Seconds in a day.
const DAY: u64 = 86_400;

fn failed(reason: impl std::fmt::Display) -> Error {
    Error::Internal {
        what: format!("cannot make the sandbox's TLS certificates: {reason}"),
    }
}

/// Writes `certs/ca.crt` and the Notary server's configuration directory (`notary/`:
/// `server.json`, `server.crt`, `server.key`), mounted read-only into the server container.
pub(crate) fn write(settings: &SandboxSettings) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(failed)?
        .as_secs();
    let date = |unix: u64| {
        let (y, m, d, ..) = civil(unix);
        rcgen::date_time_ymd(
            i32::try_from(y).unwrap_or(i32::MAX),
            u8::try_from(m).unwrap_or(1),
            u8::try_from(d).unwrap_or(1),
        )
    };
    let window = |p: &mut CertificateParams| {
        p.not_before = date(now.saturating_sub(DAY));
        p.not_after = date(now + VALID_DAYS * DAY);
    };

    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "keytool content trust sandbox CA");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    window(&mut ca);
    let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let mut server = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, settings.names.notary.as_str());
    server.distinguished_name = dn;
    server.subject_alt_names = vec![
        SanType::DnsName(settings.names.notary.as_str().try_into().map_err(failed)?),
        SanType::DnsName("localhost".try_into().map_err(failed)?),
        SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
    ];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    window(&mut server);
    let server_cert = server.signed_by(&server_key, &issuer).map_err(failed)?;

    let config = serde_json::json!({
        "server": {
            "http_addr": format!(":{}", settings.notary_port),
            "tls_cert_file": format!("{NOTARY_CONFIG_DIR}/server.crt"),
            "tls_key_file": format!("{NOTARY_CONFIG_DIR}/server.key"),
        },
        "trust_service": { "type": "local" },
        "storage": { "backend": "memory" },
        "logging": { "level": "info" },
    });
    let notary = settings.path("notary");
    write_atomic(&notary, "server.crt", server_cert.pem().as_bytes(), true)?;
    write_atomic(
        &notary,
        "server.key",
        server_key.serialize_pem().as_bytes(),
        true,
    )?;
    write_atomic(&notary, "server.json", config.to_string().as_bytes(), true)?;
    let ca_file = settings.ca_file();
    let (dir, name) = split(&ca_file)?;
    write_atomic(dir, name, ca_cert.pem().as_bytes(), true)?;
    Ok(())
}

fn split(path: &Path) -> Result<(&Path, &str)> {
    match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(d), Some(n)) => Ok((d, n)),
        _ => Err(failed(format!("{} is not a file path", path.display()))),
    }
}
