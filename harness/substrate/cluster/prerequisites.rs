//! What a cluster run needs on this machine, checked before anything starts: a missing tool
//! is named with how to install it (exit 3), never discovered halfway through a run.

use std::path::{Path, PathBuf};

/// A program hadr drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub why: &'static str,
    pub install: &'static str,
}

pub const KIND: Tool = Tool {
    name: "kind",
    why: "creates and deletes the clusters",
    install: "https://kind.sigs.k8s.io/docs/user/quick-start/#installation (e.g. `go install sigs.k8s.io/kind@latest`, or the release binary on PATH)",
};
pub const DOCKER: Tool = Tool {
    name: "docker",
    why: "runs the kind nodes and injects faults into them",
    install: "https://docs.docker.com/engine/install/ (Docker Engine; the daemon must be running and reachable)",
};
pub const KUBECTL: Tool = Tool {
    name: "kubectl",
    why: "renders kustomizations and waits on rollouts",
    install: "https://kubernetes.io/docs/tasks/tools/ (or `apt-get install kubectl`)",
};

/// Where `name` is on `path` (the PATH variable's value), if anywhere.
pub fn find_in(name: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The tools among `needed` that are not on PATH.
pub fn missing(needed: &[Tool]) -> Vec<Tool> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    needed
        .iter()
        .copied()
        .filter(|tool| find_in(tool.name, &path).is_none())
        .collect()
}

/// Whether the Docker daemon answers (`docker info`): the CLI alone is not enough.
pub fn docker_daemon_answers() -> Result<(), String> {
    let output = std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// The message for missing tools: what each is for and how to get it.
pub fn message(command: &str, missing: &[Tool]) -> String {
    let names: Vec<&str> = missing.iter().map(|t| t.name).collect();
    let mut text = format!("{command}: {} not found on PATH", names.join(", "));
    for tool in missing {
        text.push_str(&format!(
            "\n  = {}: {}; install: {}",
            tool.name, tool.why, tool.install
        ));
    }
    text.push_str("\n  = hint: `hadr run SCENARIO --substrate kind --dry-run --out DIR` writes the whole plan without any of them");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_is_found_only_where_path_points() {
        let dir = tempfile::tempdir().unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(find_in("kind", &path), None);
        let kind = dir.path().join("kind");
        std::fs::write(&kind, "#!/bin/sh\n").unwrap();
        assert_eq!(find_in("kind", &path), None, "not executable yet");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(find_in("kind", &path), Some(kind));
        }
    }

    #[test]
    fn the_message_names_each_missing_tool_with_its_install_hint() {
        let text = message("hadr kind up", &[KIND, DOCKER]);
        assert!(text.starts_with("hadr kind up: kind, docker not found on PATH"));
        assert!(text.contains("kind.sigs.k8s.io"));
        assert!(text.contains("docs.docker.com"));
    }
}
