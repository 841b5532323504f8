//! The committed header `bindings/c/include/kt_ffi.h` is exactly what cbindgen renders from the
//! sources, plus the version macros (`KT_VERSION_MAJOR` ..., from this package's version): the C
//! face is a reviewed artifact. `KT_UPDATE_HEADER=1 cargo test -p keystore-ffi --test header`
//! rewrites it.

use std::path::PathBuf;

#[test]
fn committed_header_is_current() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    config.after_includes = Some(version_macros());
    let mut rendered = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen renders the header")
        .write(&mut rendered);
    let rendered = String::from_utf8(rendered).expect("the header is UTF-8");
    let path = crate_dir.join("../bindings/c/include/kt_ffi.h");
    if std::env::var_os("KT_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&path, &rendered).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "{} is stale: run `KT_UPDATE_HEADER=1 cargo test -p keystore-ffi --test header` and \
         commit the result",
        path.display()
    );
}

/// The version macros: the package version the header was rendered from, which is the version of
/// the library it ships with (`kt_version()` returns the same string at run time).
fn version_macros() -> String {
    format!(
        "\n// The version of the library this header belongs to (`kt_version()` returns the version of\n\
         // the library loaded at run time). Programs built against one major version run with any\n\
         // library of that major version and the same or a later minor version (bindings/c/README.md).\n\
         #define KT_VERSION_MAJOR {}\n\
         #define KT_VERSION_MINOR {}\n\
         #define KT_VERSION_PATCH {}\n\
         #define KT_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    )
}
