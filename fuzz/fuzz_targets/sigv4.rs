//! libFuzzer entry point of the `sigv4` target; the oracle is `lambda_stream_fuzz::sigv4::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::sigv4::check(data));
