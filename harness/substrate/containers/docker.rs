//! The Docker CLI, as users have it: every container, network and image hadr makes goes
//! through `docker` commands, which a person can read in the errors and repeat by hand.
//! (The CLI rather than a Docker API crate: nothing to keep in step with the engine's API
//! version, and no second HTTP stack in the build.)

use std::process::Stdio;
use std::time::Duration;

/// The label every object of a run carries (`hadr.run=<run id>`); `hadr containers clean`
/// removes what carries `hadr.run` at all.
pub const RUN_LABEL: &str = "hadr.run";

/// One docker command's failure: the command and what docker said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerError(pub String);

impl std::fmt::Display for DockerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long one docker command may take (an image build is given its own).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `program args...`, answering its stdout, trimmed.
pub async fn run(program: &str, args: &[String]) -> Result<String, DockerError> {
    let shown = || format!("{program} {}", args.join(" "));
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child)
        .await
        .map_err(|_| {
            DockerError(format!(
                "`{}` took longer than {COMMAND_TIMEOUT:?}",
                shown()
            ))
        })?;
    answer(&shown(), output)
}

/// A command's stdout, trimmed, or what it said on stderr when it failed.
fn answer(
    shown: &str,
    output: std::io::Result<std::process::Output>,
) -> Result<String, DockerError> {
    let output = output.map_err(|e| DockerError(format!("cannot run `{shown}`: {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(DockerError(format!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// `docker ARGS...`.
pub async fn docker(args: &[&str]) -> Result<String, DockerError> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    run("docker", &args).await
}

/// The same, blocking: for cleanup from a signal handler, a panic or a drop, where no
/// runtime may be left.
pub fn docker_blocking(args: &[&str]) -> Result<String, DockerError> {
    let output = std::process::Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output();
    answer(&format!("docker {}", args.join(" ")), output)
}

/// Whether the Docker engine answers; the reason when it does not.
pub fn engine_answers() -> Result<(), String> {
    match docker_blocking(&["version", "--format", "{{.Server.Version}}"]) {
        Ok(_) => Ok(()),
        Err(DockerError(why)) => Err(format!(
            "Docker is not reachable ({why}); start the Docker engine, or run on the default \
             substrate (--substrate sim)"
        )),
    }
}

/// Removes every container and network labelled `label=value` (value None: any value);
/// answers what it removed.
pub fn remove_labelled(label: &str, value: Option<&str>) -> Result<Vec<String>, DockerError> {
    let filter = match value {
        Some(value) => format!("label={label}={value}"),
        None => format!("label={label}"),
    };
    let mut removed = Vec::new();
    let containers = docker_blocking(&["ps", "-aq", "--filter", &filter])?;
    let containers: Vec<&str> = containers.split_whitespace().collect();
    if !containers.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(containers.iter().copied());
        docker_blocking(&args)?;
        removed.extend(containers.iter().map(|c| format!("container {c}")));
    }
    let networks = docker_blocking(&["network", "ls", "-q", "--filter", &filter])?;
    for network in networks.split_whitespace() {
        docker_blocking(&["network", "rm", network])?;
        removed.push(format!("network {network}"));
    }
    let volumes = docker_blocking(&["volume", "ls", "-q", "--filter", &filter])?;
    for volume in volumes.split_whitespace() {
        docker_blocking(&["volume", "rm", "-f", volume])?;
        removed.push(format!("volume {volume}"));
    }
    Ok(removed)
}

/// Removes every image labelled `label` (`key=value`), tagged or dangling; answers what it
/// removed. An image a container still uses is left (and said so), not forced.
pub fn remove_images(label: &str) -> Result<Vec<String>, DockerError> {
    let filter = format!("label={label}");
    let listed = docker_blocking(&[
        // Not `-a`: intermediate layers go with the image built on them.
        "images",
        "--filter",
        &filter,
        "--format",
        "{{.ID}} {{.Repository}}:{{.Tag}}",
    ])?;
    let mut images: Vec<(&str, &str)> = listed
        .lines()
        .filter_map(|line| line.split_once(' '))
        .collect();
    // An image listed under several tags is removed once, by ID.
    images.sort_unstable();
    images.dedup_by_key(|(id, _)| *id);
    let mut removed = Vec::new();
    for (id, name) in images {
        let shown = if name == "<none>:<none>" { id } else { name };
        match docker_blocking(&["rmi", id]) {
            Ok(_) => removed.push(format!("image {shown}")),
            Err(DockerError(why)) => removed.push(format!("image {shown} left: {why}")),
        }
    }
    Ok(removed)
}

/// Writes the log of every container of run `run_id` to `folder/<container>.log`.
pub fn save_logs(run_id: &str, folder: &std::path::Path) {
    let filter = format!("label={RUN_LABEL}={run_id}");
    let Ok(names) = docker_blocking(&["ps", "-a", "--format", "{{.Names}}", "--filter", &filter])
    else {
        return;
    };
    let _ = std::fs::create_dir_all(folder);
    for name in names.split_whitespace() {
        if let Ok(output) = std::process::Command::new("docker")
            .args(["logs", "--timestamps", name])
            .output()
        {
            let mut log = output.stdout;
            log.extend_from_slice(&output.stderr);
            let _ = std::fs::write(folder.join(format!("{name}.log")), log);
        }
    }
}
