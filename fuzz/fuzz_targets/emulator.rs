//! libFuzzer entry point of the `emulator` target; the oracle is `lambda_stream_fuzz::emulator::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_stream_fuzz::emulator::check(data));
