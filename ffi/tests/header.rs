//! The committed header `bindings/c/include/kt_ffi.h` is exactly what cbindgen renders from the
//! sources: the C face is a reviewed artifact. `KT_UPDATE_HEADER=1 cargo test -p keystore-ffi
//! --test header` rewrites it.

use std::path::PathBuf;

#[test]
fn committed_header_is_current() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
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
