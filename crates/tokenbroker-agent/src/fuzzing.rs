//! Entry points for the fuzz targets in `fuzz/` (run by `bench/fuzz.sh`): each feeds outside
//! input to one parser and checks what must hold for every input, not only that nothing panics.
//!
//! Only the `fuzzing` feature compiles this module; no shipped build enables it.

use crate::path_model::lowest_depth_after_decoding;
use crate::proxy::{escapes_base_path, split_upstream};

/// A request path: split into upstream and rest; a rest the agent forwards never lands above
/// the base path at an upstream that percent-decodes it first.
pub fn path(path: &str) {
    let Some((name, rest)) = split_upstream(path) else {
        return;
    };
    assert!(!name.is_empty() && !name.contains('/'));
    if !escapes_base_path(rest) {
        assert!(
            lowest_depth_after_decoding(rest) >= 0,
            "{rest:?} escapes the base path"
        );
    }
}
