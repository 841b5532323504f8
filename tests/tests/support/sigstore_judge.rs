//! sigstore-rs, the Sigstore project's Rust client, as the judge of cosign signatures that
//! keytool put in a registry (shared by the suites that migrate signatures).

use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, verify_constraints};
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};

/// What sigstore-rs says of `image` (a tag of the registry) against the public key `pem`: the
/// number of signature layers when a layer verifies with the key, else why not. `login` (user,
/// password) is what sigstore-rs gives a registry that asks for a token; `None`: anonymous.
pub(crate) fn sigstore_verifies(
    image: &str,
    pem: &[u8],
    login: Option<(&str, &str)>,
) -> Result<usize, String> {
    let auth = match login {
        Some((user, password)) => Auth::Basic(user.to_owned(), password.to_owned()),
        None => Auth::Anonymous,
    };
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
            .trusted_signature_layers(&auth, &reference)
            .await
            .map_err(|e| e.to_string())?;
        let verifier = PublicKeyVerifier::try_from(pem).map_err(|e| e.to_string())?;
        let constraints: VerificationConstraintVec = vec![Box::new(verifier)];
        verify_constraints(&layers, constraints.iter())
            .map(|()| layers.len())
            .map_err(|e| format!("{e:?}"))
    })
}

/// The `(digest, outcome)` of each manifest of a `migrate sigstore --json` report, sorted.
pub(crate) fn outcomes(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = report["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap_or_default().to_owned(),
                m["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    all.sort();
    all
}

/// `(digest, outcome)` pairs as [`outcomes`] returns them.
pub(crate) fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = pairs
        .iter()
        .map(|(d, o)| ((*d).to_owned(), (*o).to_owned()))
        .collect();
    all.sort();
    all
}
