//! libFuzzer entry point of the `diagnostic` target; the oracle is `lambda_stream_fuzz::diagnostic::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::diagnostic::check(data));
