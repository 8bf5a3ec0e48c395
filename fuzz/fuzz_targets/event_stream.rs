//! libFuzzer entry point of the `event_stream` target; the oracle is `lambda_stream_fuzz::event_stream::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::event_stream::check(data));
