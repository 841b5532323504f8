//! The sandbox's images, built from this machine's Debian binaries (no image registry needed):
//! each is a root filesystem of the binaries it runs, the shared libraries `ldd` names for them,
//! and busybox for a shell, streamed as a tar into `docker import`.
//!
//! An image is tagged `keytool-sandbox/<role>:<hash>`, where the hash covers every file that
//! goes in and the image's settings: an existing tag is reused (built once), and a changed
//! binary (a Debian upgrade) gives a new tag, so the image is rebuilt.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ops::DockerCli;
use crate::ops::provision::TarWriter;

/// The repository part of every image the sandbox builds.
pub(crate) const IMAGE_PREFIX: &str = "keytool-sandbox";
/// The busybox applets linked into every image.
const APPLETS: &[&str] = &[
    "sh",
    "ls",
    "cat",
    "cp",
    "mv",
    "rm",
    "mkdir",
    "chmod",
    "id",
    "find",
    "stat",
    "sleep",
    "echo",
    "env",
    "grep",
    "head",
    "tail",
    "wc",
    "sha256sum",
    "true",
    "false",
    "test",
    "uname",
    "wget",
    "ps",
    "kill",
    "vi",
    "less",
    "touch",
];
/// Where the registry keeps its data, as in the seed.
pub(crate) const REGISTRY_STORAGE: &str = "/var/lib/registry";
/// The registry's configuration in its image.
const REGISTRY_CONFIG: &str = "/etc/docker/registry/config.yml";
/// Where the Notary server's configuration directory is mounted.
pub(crate) const NOTARY_CONFIG_DIR: &str = "/etc/notary";
/// Where the database container keeps its data (the signer topology).
pub(crate) const DATABASE_DATA: &str = "/var/lib/mysql";
/// The database server's socket in its container, for the administrator's client.
pub(crate) const DATABASE_SOCKET: &str = "/run/mysqld/mysqld.sock";
/// The database image's entrypoint.
const DATABASE_ENTRYPOINT: &str = "/usr/local/bin/keytool-sandbox-database";
/// The SQL that creates MariaDB's system tables, in the database image.
const DATABASE_BOOTSTRAP: &str = "/usr/share/keytool-sandbox/bootstrap.sql";
/// MariaDB's own SQL for its system tables (Debian's mariadb-server), in the order
/// mariadb-install-db feeds them to the server. Help tables, GIS procedures and the sys schema
/// are left out: the trust service needs none of them.
const DATABASE_SYSTEM_SQL: [&str; 3] = [
    "/usr/share/mysql/mysql_system_tables.sql",
    "/usr/share/mysql/mysql_performance_tables.sql",
    "/usr/share/mysql/mysql_system_tables_data.sql",
];
/// mariadbd's options in the sandbox: a small server (its data directory stays near 26 MB), no
/// host name lookups, the socket where the administrator's client finds it.
const DATABASE_OPTIONS: [&str; 7] = [
    "--no-defaults",
    "--user=root",
    "--datadir=/var/lib/mysql",
    "--socket=/run/mysqld/mysqld.sock",
    "--skip-name-resolve",
    "--innodb-log-file-size=8M",
    "--innodb-buffer-pool-size=32M",
];
/// The message the walkthrough's image prints.
const PLAY_MESSAGE: &str = "Hello from the keytool content trust sandbox: this image was signed with keytool's managed keys.\n";

/// Where the sandbox's images come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    /// Built here from this machine's Debian binaries (no image registry needed).
    #[default]
    Local,
    /// The upstream images, pulled: notary-server 0.7.0, registry 2, a docker 28 client (29 no
    /// longer signs on push), busybox.
    Upstream,
}

impl std::str::FromStr for ImageSource {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "local" => Ok(ImageSource::Local),
            "upstream" => Ok(ImageSource::Upstream),
            other => Err(Error::InvalidArgument {
                what: crate::error::Argument::Parameter("images"),
                reason: format!(
                    "expected local or upstream, got {:?}",
                    crate::ids::clip(other)
                ),
            }),
        }
    }
}

/// The upstream image of each role.
const UPSTREAM: [(&str, &str); 4] = [
    ("registry", "registry:2"),
    ("notary", "notary:server-0.7.0"),
    ("client", "docker:28-cli"),
    ("play", "busybox:1.36"),
];

/// The database image's entrypoint: on the first start it creates MariaDB's system tables
/// (with root reachable only over the socket, by the container's root), then it runs the
/// server on port 3306. Nothing secret: the trust service's databases and accounts are made by
/// keytool over `docker exec`, with the passwords on the client's standard input.
fn database_entrypoint() -> String {
    let options = DATABASE_OPTIONS.join(" ");
    format!(
        "#!/bin/sh\n\
set -e\n\
mkdir -p /run/mysqld /tmp\n\
if [ ! -e {DATABASE_DATA}/.keytool-initialised ]; then\n\
  rm -rf {DATABASE_DATA}\n\
  mkdir -p {DATABASE_DATA}\n\
  /usr/sbin/mariadbd {options} --bootstrap --log-warnings=0 --max_allowed_packet=8M < {DATABASE_BOOTSTRAP}\n\
  touch {DATABASE_DATA}/.keytool-initialised\n\
fi\n\
exec /usr/sbin/mariadbd {options} --bind-address=0.0.0.0 --port=3306\n"
    )
}

/// The bootstrap SQL of the database image: what mariadb-install-db pipes into the server
/// (`--auth-root-authentication-method=socket`, no test database).
fn database_bootstrap() -> Result<Vec<u8>> {
    let mut sql =
        b"create database if not exists mysql;\nuse mysql;\nSET @auth_root_socket='root';\n"
            .to_vec();
    for file in DATABASE_SYSTEM_SQL {
        let path = Path::new(file);
        if !path.is_file() {
            return Err(failed(
                "find MariaDB's system tables".into(),
                format!("{file} does not exist (Debian package mariadb-server)"),
            ));
        }
        sql.extend(std::fs::read(path).map_err(|e| Error::io("read", path, e))?);
        sql.push(b'\n');
    }
    Ok(sql)
}

/// Where the Notary server binary is in the image of `source`.
pub(crate) fn notary_binary(source: ImageSource) -> &'static str {
    match source {
        ImageSource::Local => "/usr/bin/notary-server",
        ImageSource::Upstream => "/notary/server/notary-server",
    }
}

/// Finds the upstream images of `roles`, pulling those that are missing.
fn pull_upstream(docker: &DockerCli, roles: &[&'static str]) -> Result<Vec<BuiltImage>> {
    let mut out = Vec::new();
    for &role in roles {
        let tag = UPSTREAM
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, t)| *t)
            .ok_or_else(|| Error::Internal {
                what: format!("no upstream image for {role}"),
            })?;
        let exists = docker
            .run(
                "the sandbox's images",
                "inspect",
                &["image", "inspect", "--format", "{{.Id}}", "--", tag],
                None,
                4096,
            )
            .is_ok();
        if !exists {
            docker
                .run("the sandbox's images", "pull", &["pull", "--", tag], None, 1 << 20)
                .map_err(|e| {
                    let why = match e {
                        Error::Target { reason, .. } => reason,
                        other => other.to_string(),
                    };
                    failed(
                        format!("pull {tag}"),
                        format!("{why}; without access to an image registry, use the images built here (local)"),
                    )
                })?;
        }
        out.push(BuiltImage {
            role: role.into(),
            tag: tag.into(),
            built: !exists,
        });
    }
    Ok(out)
}

/// One image to build.
struct Spec {
    role: &'static str,
    /// Host binaries and where they go.
    binaries: Vec<(PathBuf, &'static str)>,
    /// Extra files: path, contents, mode.
    files: Vec<(&'static str, Vec<u8>, u32)>,
    /// Empty directories: path, mode.
    dirs: Vec<(&'static str, u32)>,
    /// `docker import --change` instructions.
    changes: Vec<String>,
}

/// An image the sandbox uses.
#[derive(Clone, Debug, Serialize)]
pub struct BuiltImage {
    /// What it is for: `notary`, `registry`, `client` or `play`.
    pub role: String,
    /// Its tag.
    pub tag: String,
    /// Whether it was built (or pulled) now (`false`: it already existed).
    pub built: bool,
}

fn failed(action: String, reason: impl Into<String>) -> Error {
    Error::Sandbox {
        action,
        reason: reason.into(),
    }
}

/// The first of `candidates` that is an executable file.
fn find_binary(what: &str, package: &str, candidates: &[&str]) -> Result<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            failed(
                format!("find {what}"),
                format!(
                    "none of {} exists (Debian package {package})",
                    candidates.join(", ")
                ),
            )
        })
}

/// The docker client the `trustsandbox` image carries: Debian's (docker.io), else the first
/// `docker` on PATH.
fn client_binary() -> Result<PathBuf> {
    if Path::new("/usr/bin/docker").is_file() {
        return Ok(PathBuf::from("/usr/bin/docker"));
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("docker"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            failed(
                "find the docker client".into(),
                "no docker client is installed (Debian package docker.io)",
            )
        })
}

fn specs(roles: &[&'static str]) -> Result<Vec<Spec>> {
    let busybox = find_binary(
        "busybox",
        "busybox-static",
        &["/bin/busybox", "/usr/bin/busybox"],
    )?;
    let base = |role: &'static str| Spec {
        role,
        binaries: vec![(busybox.clone(), "/bin/busybox")],
        files: vec![
            (
                "/etc/passwd",
                b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
                0o644,
            ),
            ("/etc/group", b"root:x:0:\n".to_vec(), 0o644),
        ],
        dirs: vec![("/root", 0o700), ("/tmp", 0o1777)],
        changes: vec![
            "ENV PATH=/usr/local/bin:/usr/bin:/bin".into(),
            "ENV HOME=/root".into(),
        ],
    };
    let mut out = Vec::new();
    for &role in roles {
        let mut spec = base(role);
        match role {
            "notary" => {
                let bin = find_binary("notary-server", "notary", &["/usr/bin/notary-server"])?;
                spec.binaries.push((bin, "/usr/bin/notary-server"));
                spec.dirs.push((NOTARY_CONFIG_DIR, 0o755));
                spec.changes.push(format!(
                    r#"CMD ["/usr/bin/notary-server", "-config", "{NOTARY_CONFIG_DIR}/server.json"]"#
                ));
            }
            "signer" => {
                let bin = find_binary("notary-signer", "notary", &["/usr/bin/notary-signer"])?;
                spec.binaries.push((bin, "/usr/bin/notary-signer"));
                spec.dirs.push((NOTARY_CONFIG_DIR, 0o755));
                spec.changes.push(format!(
                    r#"CMD ["/usr/bin/notary-signer", "-config", "{NOTARY_CONFIG_DIR}/signer.json"]"#
                ));
            }
            "database" => {
                let server = find_binary("mariadbd", "mariadb-server", &["/usr/sbin/mariadbd"])?;
                let client = find_binary(
                    "the mariadb client",
                    "mariadb-client",
                    &["/usr/bin/mariadb"],
                )?;
                spec.binaries.push((server, "/usr/sbin/mariadbd"));
                spec.binaries.push((client, "/usr/bin/mariadb"));
                let errmsg = "/usr/share/mysql/english/errmsg.sys";
                let bytes =
                    std::fs::read(errmsg).map_err(|e| Error::io("read", Path::new(errmsg), e))?;
                spec.files.push((errmsg, bytes, 0o644));
                spec.files
                    .push((DATABASE_BOOTSTRAP, database_bootstrap()?, 0o644));
                spec.files.push((
                    DATABASE_ENTRYPOINT,
                    database_entrypoint().into_bytes(),
                    0o755,
                ));
                spec.dirs.push(("/run/mysqld", 0o755));
                spec.dirs.push((DATABASE_DATA, 0o700));
                spec.changes
                    .push(format!(r#"CMD ["{DATABASE_ENTRYPOINT}"]"#));
            }
            "registry" => {
                let bin = find_binary(
                    "docker-registry",
                    "docker-registry",
                    &["/usr/bin/docker-registry"],
                )?;
                spec.binaries.push((bin, "/usr/bin/docker-registry"));
                spec.dirs.push((REGISTRY_STORAGE, 0o755));
                spec.dirs.push(("/etc/docker", 0o755));
                spec.dirs.push(("/etc/docker/registry", 0o755));
                spec.files.push((
                    REGISTRY_CONFIG,
                    format!(
                        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {REGISTRY_STORAGE}\n  delete:\n    enabled: true\nhttp:\n  addr: :5000\n"
                    )
                    .into_bytes(),
                    0o644,
                ));
                spec.changes.push(format!(
                    r#"CMD ["/usr/bin/docker-registry", "serve", "{REGISTRY_CONFIG}"]"#
                ));
            }
            "client" => {
                spec.binaries
                    .push((client_binary()?, "/usr/local/bin/docker"));
                spec.dirs.push(("/root/.docker", 0o700));
                spec.changes
                    .push(r#"CMD ["/bin/sleep", "2147483647"]"#.into());
            }
            "play" => {
                spec.files
                    .push(("/hello.txt", PLAY_MESSAGE.as_bytes().to_vec(), 0o644));
                spec.changes
                    .push(r#"CMD ["/bin/cat", "/hello.txt"]"#.into());
            }
            other => {
                return Err(Error::Internal {
                    what: format!("no sandbox image for {other}"),
                });
            }
        }
        out.push(spec);
    }
    Ok(out)
}

/// The shared libraries (and the loader) `binary` needs, as `ldd` lists them; none for a static
/// binary.
fn libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(binary)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .map_err(|e| {
            failed(
                format!("list the libraries of {}", binary.display()),
                format!("cannot run ldd: {e}"),
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || text.contains("not a dynamic executable")
        || text.contains("statically linked")
    {
        return Ok(Vec::new());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        } else if line.contains("not found") {
            return Err(failed(
                format!("list the libraries of {}", binary.display()),
                format!("a library is missing: {line}"),
            ));
        }
    }
    Ok(libs)
}

/// Every parent directory of `path` (not `/`), outermost first.
fn parents(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = String::new();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push('/');
        at.push_str(part);
        out.push(at.clone());
    }
    out
}

/// Adds the parent directories of `path` that are not in `made` yet.
fn mkdirs(
    tar: &mut TarWriter,
    made: &mut std::collections::BTreeSet<String>,
    path: &str,
) -> Result<()> {
    for p in parents(path) {
        if made.insert(p.clone()) {
            tar.dir(p.trim_start_matches('/'), 0o755)?;
        }
    }
    Ok(())
}

/// The root filesystem of `spec` as a tar stream, and the hash of what went in.
fn rootfs(spec: &Spec) -> Result<(Vec<u8>, String)> {
    let mut files: Vec<(String, Vec<u8>, u32)> = Vec::new();
    for (host, dest) in &spec.binaries {
        let bytes = std::fs::read(host).map_err(|e| Error::io("read", host, e))?;
        files.push(((*dest).to_owned(), bytes, 0o755));
        for lib in libraries(host)? {
            let bytes = std::fs::read(&lib).map_err(|e| Error::io("read", &lib, e))?;
            files.push((lib.to_string_lossy().into_owned(), bytes, 0o755));
        }
    }
    for (path, bytes, mode) in &spec.files {
        files.push(((*path).to_owned(), bytes.clone(), *mode));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);

    let mut hash = Sha256::new();
    hash.update(spec.role.as_bytes());
    for c in &spec.changes {
        hash.update(c.as_bytes());
        hash.update([0]);
    }
    for (path, mode) in &spec.dirs {
        hash.update(format!("{path}:{mode:o}\0").as_bytes());
    }

    let mut tar = TarWriter::default();
    let mut made = std::collections::BTreeSet::new();
    for (path, mode) in &spec.dirs {
        mkdirs(&mut tar, &mut made, path)?;
        if made.insert((*path).to_owned()) {
            tar.dir(path.trim_start_matches('/'), *mode)?;
        }
    }
    mkdirs(&mut tar, &mut made, "/bin/busybox")?;
    for applet in APPLETS {
        tar.symlink(&format!("bin/{applet}"), "busybox")?;
    }
    for (path, bytes, mode) in &files {
        mkdirs(&mut tar, &mut made, path)?;
        tar.file(path.trim_start_matches('/'), bytes, *mode)?;
        hash.update(format!("{path}:{mode:o}:{}\0", bytes.len()).as_bytes());
        hash.update(bytes);
    }
    Ok((tar.finish(), hex::encode(&hash.finalize()[..6])))
}

/// Builds (or finds, already built) the images for `roles` on the daemon behind `docker`, or
/// pulls the upstream ones.
pub(crate) fn ensure(
    docker: &DockerCli,
    source: ImageSource,
    roles: &[&'static str],
) -> Result<Vec<BuiltImage>> {
    if source == ImageSource::Upstream {
        return pull_upstream(docker, roles);
    }
    let mut out = Vec::new();
    for spec in specs(roles)? {
        let (tar, hash) = rootfs(&spec)?;
        let tag = format!("{IMAGE_PREFIX}/{}:{hash}", spec.role);
        let exists = docker
            .run(
                "the sandbox's images",
                "inspect",
                &["image", "inspect", "--format", "{{.Id}}", "--", &tag],
                None,
                4096,
            )
            .is_ok();
        if !exists {
            let mut args: Vec<&str> = vec!["import"];
            for c in &spec.changes {
                args.extend(["--change", c]);
            }
            args.extend(["-", &tag]);
            docker.run(
                "the sandbox's images",
                &format!("build {tag}"),
                &args,
                Some(&tar),
                4096,
            )?;
        }
        out.push(BuiltImage {
            role: spec.role.into(),
            tag,
            built: !exists,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_listed_outermost_first() {
        assert_eq!(
            parents("/usr/local/bin/docker"),
            ["/usr", "/usr/local", "/usr/local/bin"]
        );
        assert!(parents("/hello.txt").is_empty());
    }

    #[test]
    fn the_image_hash_follows_its_contents() {
        let spec = |msg: &str| Spec {
            role: "play",
            binaries: Vec::new(),
            files: vec![("/hello.txt", msg.as_bytes().to_vec(), 0o644)],
            dirs: vec![("/tmp", 0o1777)],
            changes: vec!["CMD [\"/bin/cat\"]".into()],
        };
        let (_, a) = rootfs(&spec("one")).expect("tar");
        let (_, b) = rootfs(&spec("one")).expect("tar");
        let (_, c) = rootfs(&spec("two")).expect("tar");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
