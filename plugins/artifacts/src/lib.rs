//! Bottega's example and test plugins, compiled from source by `build.rs`.
//!
//! Each constant is the path of a built component; the runtime embeds the
//! example grocery shop for its demo seed, tests read the others.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
