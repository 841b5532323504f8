//! A docker-registry repository driven by curl, for the suites that push images and read
//! cosign signature images (shared by the suites that migrate signatures).

use std::process::Command;

use interop_tests::stdout;
use sha2::Digest as _;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// `sha256:<hex>` of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One repository of the registry over plain HTTP, by curl (independent of keytool's registry
/// code), with a bearer token when the registry asks for one.
pub(crate) struct Registry {
    base: String,
    repo: String,
    bearer: Option<String>,
    dir: tempfile::TempDir,
}

impl Registry {
    /// The repository `repo` of the registry at `host` (`127.0.0.1:<port>`), sending
    /// `Authorization: Bearer <bearer>` when given.
    pub(crate) fn new(host: &str, repo: &str, bearer: Option<String>) -> Registry {
        Registry {
            base: format!("http://{host}"),
            repo: repo.to_owned(),
            bearer,
            dir: tempfile::tempdir().expect("tmp"),
        }
    }

    /// The Authorization header curl sends, if any.
    fn authorization(&self) -> Vec<String> {
        self.bearer
            .iter()
            .flat_map(|t| ["-H".to_owned(), format!("Authorization: Bearer {t}")])
            .collect()
    }

    fn curl(&self, args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--noproxy", "*"])
            .args(self.authorization())
            .args(args)
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    }

    fn put_blob(&self, bytes: &[u8]) -> String {
        let d = digest(bytes);
        let file = self.dir.path().join(d.replace(':', "-"));
        std::fs::write(&file, bytes).expect("write blob");
        let headers = self.curl(&[
            "-X",
            "POST",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &format!("{}/v2/{}/blobs/uploads/", self.base, self.repo),
        ]);
        let location = headers
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .expect("upload location");
        let url = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        self.curl(&[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", file.display()),
            &format!("{url}{sep}digest={d}"),
        ]);
        d
    }

    /// Pushes a one-layer image tagged `tag`; returns its manifest's digest and size.
    pub(crate) fn push_image(&self, tag: &str, content: &str) -> (String, u64) {
        let layer = content.as_bytes();
        let layer_digest = self.put_blob(layer);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}},"config":{{}}}}"#
        );
        let config_digest = self.put_blob(config.as_bytes());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","size":{},"digest":"{config_digest}"}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","size":{},"digest":"{layer_digest}"}}]}}"#,
            config.len(),
            layer.len()
        );
        self.put_manifest(tag, manifest.as_bytes());
        (digest(manifest.as_bytes()), manifest.len() as u64)
    }

    fn put_manifest(&self, tag: &str, manifest: &[u8]) {
        let file = self.dir.path().join(format!("manifest-{tag}"));
        std::fs::write(&file, manifest).expect("write manifest");
        self.curl(&[
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {OCI_MANIFEST}"),
            "--data-binary",
            &format!("@{}", file.display()),
            &format!("{}/v2/{}/manifests/{tag}", self.base, self.repo),
        ]);
    }

    /// The layers of the signature manifest of `digest`, or none.
    pub(crate) fn signature_layers(&self, digest: &str) -> Vec<serde_json::Value> {
        let out = Command::new("curl")
            .args(self.authorization())
            .args([
                "-sS",
                "--noproxy",
                "*",
                "-H",
                &format!("Accept: {OCI_MANIFEST}"),
            ])
            .arg(format!(
                "{}/v2/{}/manifests/{}.sig",
                self.base,
                self.repo,
                digest.replace(':', "-")
            ))
            .output()
            .expect("curl runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["layers"].as_array().cloned().unwrap_or_default()
    }
}
