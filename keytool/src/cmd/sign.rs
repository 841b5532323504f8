//! `keytool sign GUN:TAG --digest D --size N` and `keytool unsign GUN:TAG`: sign a manifest
//! digest directly (no push), or remove a tag's signature.

use clap::Args;
use keystore::ops;
use keystore::{Argument, Error, Gun, Result};

use crate::cmd::signer::required_server;
use crate::context::server::{NoOffline, ServerOptions};
use crate::context::{Context, check_iterations};
use crate::render;

/// Arguments of `sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The tag to sign: GUN:TAG, e.g. sandboxregistry:5000/test/trusttest:v1
    image: String,
    /// The manifest's digest (sha256:<64 hex>), e.g. from `docker buildx imagetools inspect`
    #[arg(long, value_name = "DIGEST")]
    digest: String,
    /// The manifest's size in bytes
    #[arg(long, value_name = "BYTES")]
    size: u64,
    /// Sign as this signer only (into the roles its keys belong to)
    #[arg(long = "as", value_name = "SIGNER")]
    signer: Option<String>,
    /// Sign without asking the registry whether it holds the manifest
    #[arg(long, conflicts_with = "registry")]
    no_check: bool,
    /// Ask this registry (http[s]://host:port) instead of the one the GUN names, e.g. when
    /// only containers resolve the GUN's registry name
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// Arguments of `unsign`.
#[derive(Debug, Args)]
pub(crate) struct UnsignArgs {
    /// The tag whose signature goes: GUN:TAG
    image: String,
    /// Remove it only from the roles this signer's keys belong to
    #[arg(long = "as", value_name = "SIGNER")]
    signer: Option<String>,
    #[command(flatten)]
    server: ServerOptions<NoOffline>,
}

/// Runs `sign`.
pub(crate) fn run_sign(ctx: &Context, args: &SignArgs) -> Result<()> {
    check_iterations(&ctx.kdf)?;
    let (gun, tag) = split_image(&args.image)?;
    let server = required_server(ctx, &args.server)?;
    let check = if args.no_check {
        ops::RegistryCheck::Skip
    } else {
        ops::RegistryCheck::Registry(args.registry.as_deref())
    };
    let source = ctx.passphrases.unlock();
    let done = ops::sign(
        &ctx.dir,
        &source,
        &server,
        &gun,
        &tag,
        &args.digest,
        args.size,
        args.signer.as_deref(),
        check,
        &ctx.kdf,
    )?;
    render::signer::signed(ctx.json, &done, server.url());
    Ok(())
}

/// Runs `unsign`.
pub(crate) fn run_unsign(ctx: &Context, args: &UnsignArgs) -> Result<()> {
    let (gun, tag) = split_image(&args.image)?;
    let server = required_server(ctx, &args.server)?;
    let source = ctx.passphrases.unlock();
    let done = ops::unsign(
        &ctx.dir,
        &source,
        &server,
        &gun,
        &tag,
        args.signer.as_deref(),
        &ctx.kdf,
    )?;
    render::signer::unsigned(ctx.json, &done, server.url());
    Ok(())
}

/// `GUN:TAG` split at the last `:` that is not part of the registry's `host:port`.
fn split_image(text: &str) -> Result<(Gun, String)> {
    match text.rsplit_once(':') {
        Some((gun, tag)) if !tag.contains('/') && !gun.is_empty() => {
            Ok((gun.parse()?, tag.to_owned()))
        }
        _ => Err(Error::InvalidArgument {
            what: Argument::Image,
            reason: format!("{text:?} names no tag: give GUN:TAG, e.g. example.com/app:v1"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_at_the_tag() {
        let (gun, tag) = split_image("sandboxregistry:5000/test/trusttest:v1").expect("ok");
        assert_eq!(
            (gun.as_str(), tag.as_str()),
            ("sandboxregistry:5000/test/trusttest", "v1")
        );
        for bad in ["sandboxregistry:5000/test/trusttest", "noTag", ":v1"] {
            assert!(split_image(bad).is_err(), "{bad}");
        }
    }
}
