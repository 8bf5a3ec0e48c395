//! Shared by the tests that create real stacks (live AWS, LocalStack): a guard that tears the
//! stack down when the test ends, also when an assertion failed halfway.

use lambda_stream_aws::{Cleanup, Deployer};

/// Tears `cleanup` down on drop, if set.
pub(crate) struct Guard {
    pub(crate) deployer: Deployer,
    pub(crate) cleanup: Option<Cleanup>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else { return };
        let deployer = self.deployer.clone();
        // Drop cannot be async: run the teardown on a runtime of its own, on another thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            match runtime.block_on(deployer.teardown(&cleanup, &mut |_| {})) {
                Ok(report) => eprintln!("torn down: {report:?}"),
                Err(e) => eprintln!(
                    "TEARDOWN FAILED for {}: {e}; sweep with: lambda-stream teardown --all-tagged --name-prefix {} --yes",
                    cleanup.stack, cleanup.stack
                ),
            }
        })
        .join();
    }
}
