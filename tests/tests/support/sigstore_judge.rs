//! sigstore-rs, the Sigstore project's Rust client, as the judge of cosign signatures that
//! keytool put in a registry (shared by the suites that migrate signatures).

use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, verify_constraints};
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};

/// What sigstore-rs says of `image` (a tag of the registry) against the public key `pem`: the
/// number of signature layers when a layer verifies with the key, else why not.
pub(crate) fn sigstore_verifies(image: &str, pem: &[u8]) -> Result<usize, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let mut client = ClientBuilder::default()
            .with_oci_client_config(ClientConfig {
                protocol: ClientProtocol::Http,
                ..Default::default()
            })
            .build()
            .map_err(|e| e.to_string())?;
        let reference: OciReference = image.parse().map_err(|e| format!("{e:?}"))?;
        let layers = client
            .trusted_signature_layers(&Auth::Anonymous, &reference)
            .await
            .map_err(|e| e.to_string())?;
        let verifier = PublicKeyVerifier::try_from(pem).map_err(|e| e.to_string())?;
        let constraints: VerificationConstraintVec = vec![Box::new(verifier)];
        verify_constraints(&layers, constraints.iter())
            .map(|()| layers.len())
            .map_err(|e| format!("{e:?}"))
    })
}
