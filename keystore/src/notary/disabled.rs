//! The stand-in for the HTTPS client in a build without the feature `notary-client`: no
//! [`NotaryClient`] can be made, and every request is the same error.

use crate::error::Argument;
use std::path::Path;

use super::NotaryClient;
use crate::error::{Error, Result};
use crate::ids::Gun;
use crate::tuf::TufKey;

/// Why there is no client: the feature that brings it is off.
fn no_client() -> Error {
    Error::InvalidArgument {
        what: Argument::NotaryServer,
        reason: "this build of keystore has no Notary client (feature notary-client)".into(),
    }
}

impl NotaryClient {
    /// Always an error in this build: keystore was built without the feature `notary-client`,
    /// which holds the HTTPS client.
    pub fn new(_url: &str, _ca: Option<&Path>) -> Result<Self> {
        Err(no_client())
    }

    /// Where registry credentials would come from: nothing to do in this build.
    #[must_use]
    pub fn with_docker_credentials(self, _config_dir: Option<std::path::PathBuf>) -> Self {
        self
    }

    /// GETs a metadata file of `gun`: an error in this build (feature `notary-client` off).
    pub fn get(&self, _gun: &Gun, _file: &str) -> Result<Option<Vec<u8>>> {
        Err(no_client())
    }

    /// Asks the server for a new key of the server-managed `role`: an error in this build
    /// (feature `notary-client` off).
    pub(crate) fn rotate_server_key(&self, _gun: &Gun, _role: &str) -> Result<TufKey> {
        Err(no_client())
    }

    /// Publishes metadata files: an error in this build (feature `notary-client` off).
    pub fn publish(&self, _gun: &Gun, _files: &[(&str, &[u8])]) -> Result<()> {
        Err(no_client())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gate: without the feature, making a client is a typed error that names it.
    #[test]
    fn no_client_without_the_feature() {
        for made in [
            NotaryClient::new("https://127.0.0.1:1", None),
            NotaryClient::connect("https://127.0.0.1:1", None, |_| None, None),
        ] {
            match made {
                Err(Error::InvalidArgument { what, reason }) => {
                    assert_eq!(what, Argument::NotaryServer);
                    assert!(reason.contains("feature notary-client"), "{reason}");
                }
                other => panic!("expected the missing feature, got {other:?}"),
            }
        }
    }
}
