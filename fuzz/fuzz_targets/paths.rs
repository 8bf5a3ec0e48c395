//! libFuzzer entry point of the `paths` target; the oracle is `lambda_stream_fuzz::paths::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::paths::check(data));
