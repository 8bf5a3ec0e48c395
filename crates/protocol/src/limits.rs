//! Limits of streamed and buffered responses.
//!
//! Sources: RS-CONF (sizes, bandwidth, timeout), RIE `core/directinvoke/directinvoke.go` (the
//! buffered limit it enforces and the token bucket it shapes with), the API Gateway developer
//! guide (prelude delimiter within the first 16 KiB).

use std::time::Duration;

/// Largest streamed response: 200 MB (raised from 20 MB on 2025-07-31; RS-CONF).
pub const MAX_STREAMED_RESPONSE_BYTES: u64 = 200 * 1000 * 1000;

/// Largest buffered response: 6 MB. The runtime sends a response buffered only at or under this.
pub const MAX_BUFFERED_RESPONSE_BYTES: u64 = 6 * 1000 * 1000;

/// What RIE actually lets through buffered: 6 MiB + 100 bytes, so emulators may be lenient by this.
pub const RIE_BUFFERED_RESPONSE_BYTES: u64 = 6 * 1024 * 1024 + 100;

/// Bytes a streamed response may send at full speed before the bandwidth cap applies (6 MiB burst, RIE).
pub const BANDWIDTH_BURST_BYTES: u64 = 6 * 1024 * 1024;

/// The cap after the burst: 2 MiB/s (RIE's token bucket; RS-CONF says 2 MB/s).
pub const BANDWIDTH_BYTES_PER_SECOND: u64 = 2 * 1024 * 1024;

/// The prelude's JSON and its delimiter must end within this many bytes of the body (API Gateway).
pub const MAX_PRELUDE_BYTES: usize = 16 * 1024;

/// The longest a function may run (RS-CONF).
pub const MAX_FUNCTION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    /// The limits as their sources state them, written out, so a slip in the arithmetic above
    /// (a `+` for a `*`) cannot hide behind tests that compare a limit with itself.
    #[test]
    fn limits_are_the_documented_values() {
        assert_eq!(MAX_STREAMED_RESPONSE_BYTES, 200_000_000);
        assert_eq!(MAX_BUFFERED_RESPONSE_BYTES, 6_000_000);
        assert_eq!(RIE_BUFFERED_RESPONSE_BYTES, 6_291_556);
        assert_eq!(BANDWIDTH_BURST_BYTES, 6_291_456);
        assert_eq!(BANDWIDTH_BYTES_PER_SECOND, 2_097_152);
        assert_eq!(MAX_PRELUDE_BYTES, 16_384);
        assert_eq!(MAX_FUNCTION_TIMEOUT, Duration::from_secs(900));
    }
}
