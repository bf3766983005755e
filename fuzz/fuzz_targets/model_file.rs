//! libFuzzer over `fauxto_fuzz_harness::model_file` (see that crate for what it covers).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fauxto_fuzz_harness::model_file(data));
