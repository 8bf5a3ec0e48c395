//! libFuzzer entry point of the `prelude` target; the oracle is `lambda_stream_fuzz::prelude::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::prelude::check(data));
