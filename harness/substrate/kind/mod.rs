//! The `kind` substrate: one kind cluster per scenario region on this Docker host
//! (`hadr-<region>`), driven through the `kind` CLI and Docker, which is what users already
//! have; the run's resources go in through kube-rs (substrate/cluster/deploy.rs).
//!
//! The clusters share kind's `kind` Docker network, so their nodes reach each other directly
//! (kubernetes-sigs/kind#2018); each region's components are `*.<region>.localho.st` behind
//! its ingress, and every cluster's CoreDNS sends each region's domain to that region's
//! ingress (manifests::coredns).

pub mod config;

use crate::scenario::model::Scenario;
use crate::substrate::cluster::prerequisites::{self, Tool};
use crate::substrate::cluster::{self, images, plan, ConsoleChoice, Options, Refusal};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a `hadr kind` command stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum KindError {
    /// Bad input (exit 2).
    Input(String),
    /// Something this machine lacks (exit 3), said before anything was changed.
    Unavailable(String),
    /// A step failed while running (exit 1).
    Failed(String),
}

impl From<Refusal> for KindError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Input(why) => KindError::Input(why),
            Refusal::Unable(why) => KindError::Unavailable(why),
        }
    }
}

/// Progress lines on stderr.
pub struct Lines;

impl cluster::deploy::Progress for Lines {
    fn step(&self, region: &str, what: &str) {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), "[{region}] {what}");
    }
}

fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The tools `command` needs that are missing, as the exit-3 message.
pub fn check_tools(command: &str, needed: &[Tool]) -> Result<(), KindError> {
    let missing = prerequisites::missing(needed);
    if !missing.is_empty() {
        return Err(KindError::Unavailable(prerequisites::message(
            command, &missing,
        )));
    }
    if needed.contains(&prerequisites::DOCKER) {
        prerequisites::docker_daemon_answers().map_err(|why| {
            KindError::Unavailable(format!(
                "{command}: the Docker daemon does not answer (`docker info`): {why}\n  = hint: start Docker, or check that this user may use its socket"
            ))
        })?;
    }
    Ok(())
}

fn run(program: &str, args: &[&str]) -> Result<String, KindError> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| KindError::Failed(format!("{program} {}: {e}", args.join(" "))))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(KindError::Failed(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The kind clusters that exist (`kind get clusters`).
fn existing_clusters() -> Result<Vec<String>, KindError> {
    Ok(run("kind", &["get", "clusters"])?
        .lines()
        .map(str::to_string)
        .collect())
}

/// Images not in the local Docker: nothing can be pulled inside the clusters, and on a
/// machine without a registry nothing can be pulled at all.
fn missing_images(wanted: &[images::Image]) -> Vec<String> {
    wanted
        .iter()
        .map(|i| i.reference())
        .filter(|r| {
            !Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", r])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect()
}

/// What `hadr kind up` does.
pub struct Up<'a> {
    pub scenario: &'a Scenario,
    pub console: ConsoleChoice,
    /// Only create the clusters; apply nothing.
    pub clusters_only: bool,
    /// A static build of hadr for the mock console image (`FROM scratch`).
    pub hadr_binary: PathBuf,
    /// Where the plan is written before it is applied.
    pub plan_dir: PathBuf,
}

/// `hadr kind up`: checks everything first (tools, Docker, images, the static binary), then
/// creates the clusters that do not exist, loads the images, and applies the plan.
pub fn up(request: &Up) -> Result<(), KindError> {
    check_tools(
        "hadr kind up",
        &[
            prerequisites::KIND,
            prerequisites::DOCKER,
            prerequisites::KUBECTL,
        ],
    )?;
    let clusters = cluster::clusters(request.scenario, &Options::kind(request.console))?;
    let plan = plan::build(request.scenario, &clusters)?;
    let mut wanted = vec![images::KIND_NODE];
    if !request.clusters_only {
        wanted.extend(
            images::for_run(request.console, clusters.flavor)
                .into_iter()
                .filter(|i| *i != images::mock_console()),
        );
    }
    let missing = missing_images(&wanted);
    if !missing.is_empty() {
        return Err(KindError::Unavailable(format!(
            "hadr kind up: {} image(s) not in the local Docker: {}\n  = hint: `docker pull` each (or `docker load` them from a machine that can); hadr pulls nothing itself",
            missing.len(),
            missing.join(", ")
        )));
    }
    let build_mock = !request.clusters_only && request.console == ConsoleChoice::Mock;
    if build_mock && !request.hadr_binary.is_file() {
        return Err(KindError::Unavailable(format!(
            "hadr kind up: no static hadr binary at {} for the mock console image\n  = hint: RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu, or --hadr-binary PATH",
            request.hadr_binary.display()
        )));
    }
    plan.write(&request.plan_dir).map_err(|e| {
        KindError::Failed(format!("cannot write {}: {e}", request.plan_dir.display()))
    })?;
    let existing = existing_clusters()?;
    for region in &clusters.regions {
        if existing.contains(&region.cluster) {
            say(&format!(
                "[{}] cluster {} exists; kept",
                region.region, region.cluster
            ));
            continue;
        }
        let config = request
            .plan_dir
            .join(format!("kind-{}", config::file_name(region)));
        std::fs::write(&config, config::render(&clusters, region))
            .map_err(|e| KindError::Failed(format!("cannot write {}: {e}", config.display())))?;
        say(&format!(
            "[{}] kind create cluster --name {} (waits up to 120s for the node)",
            region.region, region.cluster
        ));
        run(
            "kind",
            &[
                "create",
                "cluster",
                "--name",
                &region.cluster,
                "--image",
                &images::KIND_NODE.reference(),
                "--config",
                &config.display().to_string(),
                "--wait",
                "120s",
            ],
        )?;
        run(
            "docker",
            &[
                "exec",
                &region.node_container,
                "sysctl",
                "net.ipv4.conf.all.route_localnet=1",
            ],
        )?;
    }
    if request.clusters_only {
        say("clusters up; nothing applied (--clusters-only)");
        return Ok(());
    }
    if build_mock {
        build_mock_image(&request.hadr_binary)?;
    }
    for region in &clusters.regions {
        for image in images::for_run(request.console, clusters.flavor) {
            say(&format!(
                "[{}] kind load docker-image {}",
                region.region,
                image.reference()
            ));
            run(
                "kind",
                &[
                    "load",
                    "docker-image",
                    &image.reference(),
                    "--name",
                    &region.cluster,
                ],
            )?;
        }
    }
    let mut values = runtime_values(&clusters)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KindError::Failed(e.to_string()))?;
    runtime.block_on(async {
        let mut targets = Vec::new();
        for region in &clusters.regions {
            targets.push(
                cluster::deploy::Target::from_context(&region.context)
                    .await
                    .map_err(|e| KindError::Failed(e.to_string()))?,
            );
        }
        cluster::deploy::run(
            &plan,
            &request.plan_dir,
            &targets,
            &mut values,
            std::time::Duration::from_secs(600),
            &Lines,
        )
        .await
        .map_err(|e| KindError::Failed(e.to_string()))
    })?;
    say(&format!(
        "up: {} cluster(s), run {} deployed; `hadr kind down` deletes them",
        clusters.regions.len(),
        clusters.run_id
    ));
    Ok(())
}

/// Node IPs (from Docker) and the run's secrets (drawn now, never written to the plan).
fn runtime_values(
    clusters: &cluster::Clusters,
) -> Result<std::collections::BTreeMap<String, String>, KindError> {
    use rand::RngCore;
    let mut values = std::collections::BTreeMap::new();
    for region in &clusters.regions {
        let ip = run(
            "docker",
            &[
                "inspect",
                "-f",
                "{{(index .NetworkSettings.Networks \"kind\").IPAddress}}",
                &region.node_container,
            ],
        )?;
        values.insert(region.node_ip_var.clone(), ip.trim().to_string());
    }
    let secret = || {
        let mut bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    };
    values.insert("HADR_ENROLL_SECRET".into(), secret());
    values.insert("HADR_CONSOLE_PASSWORD".into(), secret());
    Ok(values)
}

fn build_mock_image(binary: &Path) -> Result<(), KindError> {
    let dir = tempfile_dir()?;
    std::fs::copy(binary, dir.join("hadr"))
        .map_err(|e| KindError::Failed(format!("cannot copy {}: {e}", binary.display())))?;
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY hadr /hadr\nENTRYPOINT [\"/hadr\"]\n",
    )
    .map_err(|e| KindError::Failed(e.to_string()))?;
    let image = images::mock_console().reference();
    say(&format!(
        "docker build -t {image} (FROM scratch, hadr's static binary)"
    ));
    let result = run(
        "docker",
        &["build", "-t", &image, &dir.display().to_string()],
    );
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|_| ())
}

fn tempfile_dir() -> Result<PathBuf, KindError> {
    let dir = std::env::temp_dir().join(format!("hadr-console-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| KindError::Failed(e.to_string()))?;
    Ok(dir)
}

/// `hadr kind down`: deletes the scenario's clusters (and with them everything in them).
pub fn down(scenario: &Scenario) -> Result<(), KindError> {
    check_tools(
        "hadr kind down",
        &[prerequisites::KIND, prerequisites::DOCKER],
    )?;
    let clusters = cluster::clusters(scenario, &Options::kind(ConsoleChoice::Mock))?;
    let existing = existing_clusters()?;
    for region in &clusters.regions {
        if !existing.contains(&region.cluster) {
            say(&format!(
                "[{}] no cluster {}",
                region.region, region.cluster
            ));
            continue;
        }
        say(&format!(
            "[{}] kind delete cluster --name {}",
            region.region, region.cluster
        ));
        run("kind", &["delete", "cluster", "--name", &region.cluster])?;
    }
    Ok(())
}

/// `hadr kind down --run-only`: deletes the run's namespace and cluster-scoped bindings in
/// every region by the run's label, through the API, and keeps the clusters.
pub fn remove_run(scenario: &Scenario) -> Result<(), KindError> {
    let clusters = cluster::clusters(scenario, &Options::kind(ConsoleChoice::Mock))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KindError::Failed(e.to_string()))?;
    runtime.block_on(async {
        for region in &clusters.regions {
            say(&format!(
                "[{}] deleting what is labelled {} (context {})",
                region.region,
                clusters.selector(),
                region.context
            ));
            let target = cluster::deploy::Target::from_context(&region.context)
                .await
                .map_err(|e| KindError::Unavailable(e.to_string()))?;
            target
                .cleanup(&clusters.run_id)
                .await
                .map_err(|e| KindError::Failed(e.to_string()))?;
        }
        Ok(())
    })
}

/// One line per region: whether its cluster exists and its node runs.
pub fn status(scenario: &Scenario) -> Result<Vec<String>, KindError> {
    check_tools(
        "hadr kind status",
        &[prerequisites::KIND, prerequisites::DOCKER],
    )?;
    let clusters = cluster::clusters(scenario, &Options::kind(ConsoleChoice::Mock))?;
    let existing = existing_clusters()?;
    let mut lines = Vec::new();
    for region in &clusters.regions {
        let state = if existing.contains(&region.cluster) {
            run(
                "docker",
                &["inspect", "-f", "{{.State.Status}}", &region.node_container],
            )
            .map(|s| format!("node {}", s.trim()))
            .unwrap_or_else(|_| "node missing".to_string())
        } else {
            "absent".to_string()
        };
        lines.push(format!(
            "{}\t{}\t{}\t{state}",
            region.region, region.cluster, region.context
        ));
    }
    Ok(lines)
}
