//! Writing to a registry over the distribution API: blobs (monolithic upload, `POST` then
//! `PUT ?digest=`), manifests by tag, and reading a manifest back. What `migrate sigstore` needs
//! to attach signatures, with no docker daemon. Reads ask for a `pull` token, writes for
//! `pull,push` when the registry asks for a token (see [`super`]).

use sha2::{Digest as _, Sha256};

use super::{Repository, with_token};
use crate::error::Result;

/// The OCI image manifest media type (what cosign writes for signature images).
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// What a signature manifest may be served as: cosign writes OCI manifests; a registry may hold
/// one written with docker's media type by other tools.
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Most bytes read of a manifest (the distribution spec's own limit is 4 MiB).
const MAX_MANIFEST: u64 = 4 << 20;

/// `sha256:<hex>` of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Repository {
    /// The manifest tagged `tag`, if there is one.
    pub(crate) fn manifest_by_tag(&self, tag: &str) -> Result<Option<Vec<u8>>> {
        let url = format!("{}/v2/{}/manifests/{tag}", self.base, self.path);
        let action = || format!("read manifest {tag} of {}", self.path);
        let mut response = self.send(false, &action, |agent, token| {
            with_token(agent.get(&url), token)
                .header("Accept", ACCEPT_MANIFESTS)
                .call()
        })?;
        match response.status().as_u16() {
            200 => {
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(MAX_MANIFEST)
                    .read_to_vec()
                    .map_err(|e| self.failed(action(), e.to_string()))?;
                Ok(Some(body))
            }
            404 => Ok(None),
            status => Err(self.failed(action(), refused(status))),
        }
    }

    /// Uploads `bytes` as a blob unless the registry already holds it; returns its digest.
    pub(crate) fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        let digest = digest(bytes);
        let action = || format!("upload blob {digest} to {}", self.path);
        let blob = format!("{}/v2/{}/blobs/{digest}", self.base, self.path);
        let head = self.send(true, &action, |agent, token| {
            with_token(agent.head(&blob), token).call()
        })?;
        if head.status().as_u16() == 200 {
            return Ok(digest);
        }
        let uploads = format!("{}/v2/{}/blobs/uploads/", self.base, self.path);
        let start = self.send(true, &action, |agent, token| {
            with_token(agent.post(&uploads), token).send_empty()
        })?;
        if start.status().as_u16() != 202 {
            return Err(self.failed(action(), refused(start.status().as_u16())));
        }
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.failed(action(), "the upload has no Location".into()))?;
        let mut url = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            return Err(self.failed(action(), format!("unusable upload Location {location:?}")));
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("digest=");
        url.push_str(&digest);
        let done = self.send(true, &action, |agent, token| {
            with_token(agent.put(&url), token)
                .header("Content-Type", "application/octet-stream")
                .send(bytes)
        })?;
        match done.status().as_u16() {
            201 | 204 => Ok(digest),
            status => Err(self.failed(action(), refused(status))),
        }
    }

    /// Puts `manifest` (an OCI image manifest) under `tag`.
    pub(crate) fn put_manifest(&self, tag: &str, manifest: &[u8]) -> Result<()> {
        let action = || format!("put manifest {tag} of {}", self.path);
        let url = format!("{}/v2/{}/manifests/{tag}", self.base, self.path);
        let done = self.send(true, &action, |agent, token| {
            with_token(agent.put(&url), token)
                .header("Content-Type", OCI_MANIFEST)
                .send(manifest)
        })?;
        match done.status().as_u16() {
            201 | 200 => Ok(()),
            status => Err(self.failed(action(), refused(status))),
        }
    }
}

/// Why an answer is not the one hoped for.
fn refused(status: u16) -> String {
    format!("the registry answered HTTP {status}")
}
