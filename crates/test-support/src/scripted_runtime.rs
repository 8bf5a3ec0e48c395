//! A scripted runtime: see the crate documentation. (Being written.)
