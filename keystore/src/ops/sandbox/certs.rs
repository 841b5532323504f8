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

/// notary-signer's gRPC port in the network (not published on this machine).
pub(crate) const SIGNER_PORT: u16 = 7899;
/// The signer's configuration directory in the state directory, mounted read-only.
pub(crate) const SIGNER_DIR: &str = "signer";

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
/// `server.json`, `server.crt`, `server.key`, `ca.crt`), mounted read-only into the server
/// container; with the signer topology also notary-signer's TLS files (`signer/`: `signer.crt`,
/// `signer.key`, `ca.crt`; its configuration is [`write_signer_config`]'s).
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

    let dns =
        |name: &str| -> Result<SanType> { Ok(SanType::DnsName(name.try_into().map_err(failed)?)) };
    let leaf = |name: &str, client: bool| -> Result<(String, String)> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.subject_alt_names = vec![
            dns(name)?,
            dns("localhost")?,
            SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if client {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        window(&mut params);
        let cert = params.signed_by(&key, &issuer).map_err(failed)?;
        Ok((cert.pem(), key.serialize_pem()))
    };

    // The server's certificate doubles as its client certificate towards notary-signer.
    let (server_cert, server_key) = leaf(settings.names.notary.as_str(), true)?;
    let notary = settings.path("notary");
    write_atomic(&notary, "server.crt", server_cert.as_bytes(), true)?;
    write_atomic(&notary, "server.key", server_key.as_bytes(), true)?;
    write_atomic(&notary, "ca.crt", ca_cert.pem().as_bytes(), true)?;
    write_atomic(
        &notary,
        "server.json",
        server_config(settings).to_string().as_bytes(),
        true,
    )?;
    if settings.signer {
        let (signer_cert, signer_key) = leaf(settings.names.signer.as_str(), false)?;
        let signer = settings.path(SIGNER_DIR);
        write_atomic(&signer, "signer.crt", signer_cert.as_bytes(), true)?;
        write_atomic(&signer, "signer.key", signer_key.as_bytes(), true)?;
        write_atomic(&signer, "ca.crt", ca_cert.pem().as_bytes(), true)?;
    }
    let ca_file = settings.ca_file();
    let (dir, name) = split(&ca_file)?;
    write_atomic(dir, name, ca_cert.pem().as_bytes(), true)?;
    Ok(())
}

/// notary-server's configuration: TLS with the sandbox CA; the local trust service and memory
/// storage, or (the signer topology) notary-signer over mutual TLS and the MariaDB database,
/// whose DSN (it holds the account's password) comes from the container's environment
/// (`NOTARY_SERVER_STORAGE_DB_URL`), never from this file.
fn server_config(settings: &SandboxSettings) -> serde_json::Value {
    let (trust_service, storage) = if settings.signer {
        (
            serde_json::json!({
                "type": "remote",
                "hostname": settings.names.signer,
                "port": SIGNER_PORT.to_string(),
                "key_algorithm": "ecdsa",
                "tls_ca_file": format!("{NOTARY_CONFIG_DIR}/ca.crt"),
                "tls_client_cert": format!("{NOTARY_CONFIG_DIR}/server.crt"),
                "tls_client_key": format!("{NOTARY_CONFIG_DIR}/server.key"),
            }),
            serde_json::json!({ "backend": "mysql" }),
        )
    } else {
        (
            serde_json::json!({ "type": "local" }),
            serde_json::json!({ "backend": "memory" }),
        )
    };
    serde_json::json!({
        "server": {
            "http_addr": format!(":{}", settings.notary_port),
            "tls_cert_file": format!("{NOTARY_CONFIG_DIR}/server.crt"),
            "tls_key_file": format!("{NOTARY_CONFIG_DIR}/server.key"),
        },
        "trust_service": trust_service,
        "storage": storage,
        "logging": { "level": "info" },
    })
}

/// notary-signer's configuration (the signer topology): gRPC on [`SIGNER_PORT`] with mutual TLS
/// (clients must show a certificate of the sandbox CA), keys in the MariaDB database encrypted
/// with the passphrase of `default_alias`. The DSN and the passphrases come from the
/// container's environment (`NOTARY_SIGNER_STORAGE_DB_URL`, `NOTARY_SIGNER_<ALIAS>`), never
/// from this file.
pub(crate) fn write_signer_config(settings: &SandboxSettings, default_alias: &str) -> Result<()> {
    let config = serde_json::json!({
        "server": {
            "grpc_addr": format!(":{SIGNER_PORT}"),
            "tls_cert_file": format!("{NOTARY_CONFIG_DIR}/signer.crt"),
            "tls_key_file": format!("{NOTARY_CONFIG_DIR}/signer.key"),
            "client_ca_file": format!("{NOTARY_CONFIG_DIR}/ca.crt"),
        },
        "storage": { "backend": "mysql", "default_alias": default_alias },
        "logging": { "level": "info" },
    });
    write_atomic(
        &settings.path(SIGNER_DIR),
        "signer.json",
        config.to_string().as_bytes(),
        true,
    )?;
    Ok(())
}

fn split(path: &Path) -> Result<(&Path, &str)> {
    match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(d), Some(n)) => Ok((d, n)),
        _ => Err(failed(format!("{} is not a file path", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signer_topology_configures_a_remote_trust_service_and_mysql_without_secrets() {
        let mut s = SandboxSettings::new("/tmp/s");
        let plain = server_config(&s);
        assert_eq!(plain["trust_service"]["type"], "local");
        assert_eq!(plain["storage"]["backend"], "memory");
        s.signer = true;
        let c = server_config(&s);
        assert_eq!(c["trust_service"]["type"], "remote");
        assert_eq!(c["trust_service"]["hostname"], "notarysigner");
        assert_eq!(c["trust_service"]["port"], "7899");
        assert_eq!(c["trust_service"]["key_algorithm"], "ecdsa");
        assert_eq!(c["storage"], serde_json::json!({ "backend": "mysql" }));
        // The DSN, with its password, comes from the environment only.
        assert!(!c.to_string().contains("db_url"));
    }
}
