//! Any bytes through the pickle / state-dict importer: an error is fine, a panic, a hang
//! or an allocation beyond libFuzzer's memory limit is a finding.
#![no_main]

use fauxto_interop::{import, ImportOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = ImportOptions {
        discriminator: true,
        ..Default::default()
    };
    let _ = import(data, &options);
});
