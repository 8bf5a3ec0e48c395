//! A scripted Runtime API peer: see the crate documentation. (Being written.)
