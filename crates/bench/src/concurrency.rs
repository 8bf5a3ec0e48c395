//! The concurrency figures (`benches/concurrency.rs`): N = 1, 8 and 64 streaming invocations at
//! once through the function URL and InvokeWithResponseStream, each reading a whole streamed
//! response. Per (setup, path, N): p50 and p99 of the time to first byte over every invocation,
//! the aggregate MB/s (all bytes over the wall time of the rounds) and the emulator process's CPU
//! time per GB relayed (user + system from `/proc/<pid>/stat`, so only the emulator's own work:
//! its runtime processes are other processes).
//!
//! The setups are real processes, as concurrency is on Lambda: `bench-emulate --concurrency N`
//! (what `lambda-stream emulate --concurrency N` runs) with N copies of the example binary, ours
//! and the official runtime's, and cargo-lambda's emulator with N copies of our binary polling
//! its Runtime API where it can serve them; and the floor ([`crate::floor`], in the bench's own
//! process) under the same load, so the report can show how much of the tail at N = 64 the machine
//! makes with no Lambda logic. The figures are written to `target/bench-concurrency.json` for the
//! report.
//!
//! This module holds what can be tested without processes: the figure, percentiles and the CPU
//! clock of a process.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The concurrency levels measured.
pub const LEVELS: [usize; 3] = [1, 8, 64];

/// Where the figures go, under the target directory.
pub const FILE: &str = "bench-concurrency.json";

/// One (setup, path, N) cell of the concurrency table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcurrencyFigure {
    /// Who served it, as a report subject (`lambda-stream-process`, `official-process`,
    /// `cargo-lambda+lambda-stream-process`, `floor`).
    pub subject: String,
    /// `function URL` or `InvokeWithResponseStream`.
    pub path: String,
    /// Invocations in flight at once.
    pub concurrency: usize,
    /// Invocations measured (rounds x N).
    pub invocations: usize,
    /// Bytes received over all of them.
    pub bytes: u64,
    /// Median time to first byte, ns.
    pub p50_ttfb_ns: f64,
    /// 99th percentile time to first byte, ns (nearest rank; with fewer than 100 invocations it is
    /// the slowest or nearly).
    pub p99_ttfb_ns: f64,
    /// All bytes over the wall time of the rounds, MB/s (10^6 bytes).
    pub mb_per_s: f64,
    /// CPU time of the emulator process per GB (10^9 bytes) relayed, seconds; `None` when its
    /// process could not be read.
    pub emulator_cpu_s_per_gb: Option<f64>,
}

/// Path names as the figures carry them.
pub const FUNCTION_URL: &str = "function URL";
/// See [`FUNCTION_URL`].
pub const IWRS: &str = "InvokeWithResponseStream";

/// The nearest-rank percentile `p` (0..=100) of `values`; `None` when empty.
pub fn percentile(values: &[Duration], p: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// User + system CPU time of process `pid` so far (all its threads), from `/proc/<pid>/stat`
/// fields 14 and 15 in clock ticks of `ticks_per_second`.
pub fn cpu_time(pid: u32, ticks_per_second: u64) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_from_stat(&stat, ticks_per_second)
}

/// [`cpu_time`] from the text of a `stat` file.
pub fn cpu_from_stat(stat: &str, ticks_per_second: u64) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it,
    // where field 3 (the state) is the first.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / ticks_per_second.max(1) as f64))
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), 100 when it cannot be asked.
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |v: &[u64]| v.iter().map(|&n| Duration::from_millis(n)).collect::<Vec<_>>();
        let values = ms(&[5, 1, 4, 2, 3]);
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(3)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&values, 0.0), Some(Duration::from_millis(1)));
        let hundred: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&hundred, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn cpu_time_from_a_stat_line() {
        // pid (comm with a space) state ppid ... utime=250 stime=50 (fields 14 and 15).
        let stat = "1234 (bench emulate) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(cpu_from_stat(stat, 100), Some(Duration::from_secs(3)));
        assert_eq!(cpu_from_stat("garbage", 100), None);
        // This process has a stat file and some CPU time of its own.
        assert!(cpu_time(std::process::id(), ticks_per_second()).is_some());
    }
}
