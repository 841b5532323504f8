//! `keytool migrate`: notary 0.1-0.3 key layouts to the flat `private/` layout.

use keystore::ops;
use keystore::{Error, Result};

use crate::context::Context;
use crate::render;

/// Runs `migrate`; key files left in place make it fail.
pub(crate) fn run(ctx: &Context) -> Result<()> {
    let report = ops::migrate(&ctx.dir)?;
    render::repo::migrated(ctx.json, &report);
    if report.kept.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidKeyFile {
            file: keystore::error::FileLabel::none(),
            reason: format!(
                "{} legacy key file(s) could not be migrated and were left in place",
                report.kept.len()
            ),
        })
    }
}
