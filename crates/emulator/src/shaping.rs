//! Bandwidth shaping of relayed responses: a token bucket like RIE's (burst, then a steady rate).
//!
//! The bucket starts full (`burst_bytes`); each relayed chunk takes its size. A chunk larger than
//! what is left still goes out once the bucket has refilled to cover the debt, so any chunk size
//! works and the long-run rate is exactly `bytes_per_second`. Time is `tokio::time`, so tests can
//! measure shaping on a paused clock.

use tokio::time::{Duration, Instant};

use crate::config::Bandwidth;

#[derive(Debug)]
pub(crate) struct Shaper {
    bandwidth: Bandwidth,
    /// May go negative: a debt paid off by waiting.
    tokens: f64,
    last: Instant,
}

impl Shaper {
    pub(crate) fn new(bandwidth: Bandwidth) -> Self {
        Self { bandwidth, tokens: bandwidth.burst_bytes as f64, last: Instant::now() }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.bandwidth.bytes_per_second as f64;
        self.tokens = (self.tokens + earned).min(self.bandwidth.burst_bytes as f64);
        self.last = now;
    }

    /// Waits until `len` more bytes may go out.
    pub(crate) async fn take(&mut self, len: usize) {
        self.refill();
        self.tokens -= len as f64;
        if self.tokens < 0.0 && self.bandwidth.bytes_per_second > 0 {
            let wait = Duration::from_secs_f64(-self.tokens / self.bandwidth.bytes_per_second as f64);
            tokio::time::sleep(wait).await;
            self.refill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let mut s = Shaper::new(Bandwidth { burst_bytes: 1000, bytes_per_second: 100 });
        let start = Instant::now();
        s.take(1000).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst goes out at once");
        s.take(200).await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(1990) && waited <= Duration::from_millis(2010), "{waited:?}");
        s.take(50).await;
        assert!(start.elapsed() >= Duration::from_millis(2490), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_of_zero_never_waits_and_never_panics() {
        // Bandwidth's fields are public: a rate of 0 must not divide by zero (no refill, no wait).
        let mut s = Shaper::new(Bandwidth { burst_bytes: 10, bytes_per_second: 0 });
        let start = Instant::now();
        s.take(1_000).await;
        s.take(1_000).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
