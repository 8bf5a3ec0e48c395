//! libFuzzer entry point of the `event_stream_roundtrip` target; the oracle is `lambda_stream_fuzz::event_stream_roundtrip::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::event_stream_roundtrip::check(data));
