//! # lambda-stream-emulator
//!
//! Plays the AWS Lambda service locally for response streaming. (Being written.)
