//! Limits of streamed and buffered responses.
//!
//! Sources: RS-CONF (sizes, bandwidth, timeout), RIE `core/directinvoke/directinvoke.go` (the
//! buffered limit it enforces and the token bucket it shapes with), the API Gateway developer
//! guide (prelude delimiter within the first 16 KiB; APIGW "Stream the integration response" for
//! the REST API streaming limits, docs/protocol.md §6).

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

/// API Gateway: bytes of a streamed response sent without bandwidth restriction. AWS writes
/// "the first 10 MB"; the project reads MB as MiB, as it does for Lambda's 6 MB burst (APIGW
/// "Stream the integration response", considerations; PROJECT for the unit).
pub const APIGW_BANDWIDTH_BURST_BYTES: u64 = 10 * 1024 * 1024;

/// API Gateway: the rate after [`APIGW_BANDWIDTH_BURST_BYTES`], "2 MB/s", read as 2 MiB/s (APIGW).
pub const APIGW_BANDWIDTH_BYTES_PER_SECOND: u64 = 2 * 1024 * 1024;

/// API Gateway: the longest a streamed response may last, 15 minutes (APIGW); also the largest
/// integration timeout a streaming integration may be given.
pub const APIGW_MAX_STREAM_DURATION: Duration = Duration::from_secs(15 * 60);

/// API Gateway: a stream without data for this long is closed on Regional and private endpoints (APIGW).
pub const APIGW_IDLE_TIMEOUT_REGIONAL: Duration = Duration::from_secs(5 * 60);

/// API Gateway: a stream without data for this long is closed on edge-optimized endpoints (APIGW).
pub const APIGW_IDLE_TIMEOUT_EDGE: Duration = Duration::from_secs(30);

/// API Gateway: the default integration timeout of a REST API, 29 seconds (APIGW "Stream the
/// integration response": streaming lets a response outlast it once the integration timeout is
/// raised, up to [`APIGW_MAX_STREAM_DURATION`]).
pub const APIGW_DEFAULT_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// API Gateway: the largest request payload a REST API accepts, 10 MB (APIGW "Stream the
/// integration response" names API Gateway's 10 MB payload limit; read as MiB, PROJECT).
pub const APIGW_MAX_REQUEST_BYTES: u64 = 10 * 1024 * 1024;

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
        assert_eq!(APIGW_BANDWIDTH_BURST_BYTES, 10_485_760);
        assert_eq!(APIGW_BANDWIDTH_BYTES_PER_SECOND, 2_097_152);
        assert_eq!(APIGW_MAX_STREAM_DURATION, Duration::from_secs(900));
        assert_eq!(APIGW_IDLE_TIMEOUT_REGIONAL, Duration::from_secs(300));
        assert_eq!(APIGW_IDLE_TIMEOUT_EDGE, Duration::from_secs(30));
        assert_eq!(APIGW_DEFAULT_INTEGRATION_TIMEOUT, Duration::from_secs(29));
        assert_eq!(APIGW_MAX_REQUEST_BYTES, 10_485_760);
    }
}
