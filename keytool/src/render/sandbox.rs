//! `provision` and `sandbox push|pull`: the files copied, the digest pushed or pulled.

use keystore::Gun;
use keystore::ops::{self, ImageRef, Outcome};

use crate::output;

/// `provision`: each file copied (its path on stdout), and a warning for an unpublished
/// repository.
pub(crate) fn provisioned(json: bool, done: &ops::Provisioned, gun: &Gun) {
    if json {
        output::json(done);
        return;
    }
    for f in &done.files {
        let verb = match f.outcome {
            Outcome::Written => "Copied",
            Outcome::Unchanged | Outcome::Replaced => "Already there:",
        };
        eprintln!("{verb} {} -> {}", f.what, f.path);
        println!("{}", f.path);
    }
    if done.published == Some(false) {
        eprintln!(
            "Warning: {gun} is not published on the server; docker push would create its own repository key. Run keytool init --repo {gun} --server URL first."
        );
    }
    eprintln!("Provisioned {gun} into {}.", done.target);
}

/// `sandbox push`: the digest on stdout, what was signed on stderr.
pub(crate) fn pushed(json: bool, done: &ops::Pushed, image: &ImageRef, container: &str) {
    if json {
        output::json(done);
        return;
    }
    println!("{}", done.digest);
    eprintln!(
        "Signed and pushed {} ({}, {} bytes) with {} {} in container {}; targets key {}.",
        image.reference(),
        done.digest,
        done.size,
        done.method,
        done.client_version,
        container,
        done.signed_by.join(", ")
    );
}

/// `sandbox pull`: the digest on stdout.
pub(crate) fn pulled(json: bool, done: &ops::Pulled, image: &ImageRef, container: &str) {
    if json {
        output::json(done);
        return;
    }
    println!("{}", done.digest);
    eprintln!(
        "Pulled {} by its signed digest {} in container {}.",
        image.reference(),
        done.digest,
        container
    );
}
