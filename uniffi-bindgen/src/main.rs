//! uniffi's command line, pinned to the workspace's uniffi version, to
//! generate the Kotlin and Swift sources of `enlist-ffi` from the built
//! library (library mode):
//!
//! ```text
//! cargo uniffi-bindgen generate target/debug/libenlist_ffi.so --language kotlin --out-dir out
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
