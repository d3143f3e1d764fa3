//! Helpers shared by unit and integration tests: finding the files the project reads from
//! the shared folder next to the repository (the published doc's translations, Fabric's sample
//! configuration) without copying them into it.

use std::path::PathBuf;

/// `shared/<relative>` in the nearest ancestor of the crate that has it (the repository's
/// parent for /work/main and CI's clone, the workspace root for a worktree); None when absent.
pub fn find_shared(relative: &str) -> Option<PathBuf> {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared").join(relative))
        .find(|path| path.exists())
}
