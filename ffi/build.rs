//! Gives the shared library its SONAME on Linux: `libkt_ffi.so.MAJOR`, from the package version.
//! A program linked against it records that name, so it keeps loading any later library of the
//! same major version and refuses one of another (scripts/install-c-lib.sh installs
//! `libkt_ffi.so.MAJOR.MINOR.PATCH` and the `libkt_ffi.so.MAJOR` link). Other targets get no
//! extra link argument.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo::rustc-cdylib-link-arg=-Wl,-soname,libkt_ffi.so.{major}");
    }
}
