//! A CPU hog for the contended figures: one busy thread per core, running while the contended
//! cases are measured, so the emulator, the floor and the clients compete for the cores as they
//! do on a loaded machine (the "CPU hog on both cores").
//!
//! The threads spin on integer work at normal priority and check a stop flag between short
//! bursts; dropping the [`Hog`] stops and joins them. They live in the benchmark process, which
//! the scheduler treats like any other runnable threads: the floor and our stack lose the same
//! share of the cores, so a ratio to the floor shows how much more a path suffers from waiting
//! for a core at each of its hand-offs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Busy threads that run until dropped.
#[derive(Debug)]
pub struct Hog {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Hog {
    /// Starts `threads` busy threads.
    pub fn start(threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|i| {
                let stop = stop.clone();
                std::thread::Builder::new()
                    .name(format!("cpu-hog-{i}"))
                    .spawn(move || {
                        let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ i as u64;
                        while !stop.load(Ordering::Relaxed) {
                            for _ in 0..10_000 {
                                // xorshift: work the optimiser cannot remove.
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                            }
                            x = std::hint::black_box(x);
                        }
                        x
                    })
                    .expect("a hog thread")
            })
            .collect();
        Self { stop, threads }
    }

    /// One busy thread per core the machine reports.
    pub fn on_every_core() -> Self {
        Self::start(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// How many threads are spinning.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hog_burns_cpu_until_dropped() {
        let hog = Hog::start(1);
        assert_eq!(hog.threads(), 1);
        let handle = &hog.threads[0];
        // Spinning, not finished: it only ends on drop.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!handle.is_finished());
        drop(hog);
    }
}
