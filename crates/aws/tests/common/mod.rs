//! Shared by the tests that create real stacks (live AWS, LocalStack): the guard that tears the
//! stack down when the test ends, also when an assertion failed halfway (the library's own).

pub(crate) use lambda_stream_aws::TeardownGuard as Guard;
