//! Running the `hadr` binary from integration tests (and, in run.rs, scenarios on `sim`).

pub mod run;

use std::process::Command;

#[allow(dead_code)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `hadr args...` in the crate's directory, so relative paths in arguments and in
/// messages stay relative.
#[allow(dead_code)]
pub fn hadr(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run hadr");
    Output {
        code: output.status.code().expect("hadr exited normally"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Asserts that `output` exited with `code` and said `needle` on stderr.
#[allow(dead_code)]
pub fn assert_exit(output: &Output, code: i32, needle: &str) {
    assert_eq!(output.code, code, "{}", output.stderr);
    assert!(output.stderr.contains(needle), "{}", output.stderr);
}
