//! libFuzzer entry point of the `url_event` target; the oracle is `lambda_stream_fuzz::url_event::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::url_event::check(data));
