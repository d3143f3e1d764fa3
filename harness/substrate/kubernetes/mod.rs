//! The `kubernetes` substrate: three existing clusters (three real regions), one kubeconfig
//! context per region (`--contexts`), the user's own ingress domain per region
//! (`--domains`), faults only through Chaos Mesh. The plan and the deploy code are the
//! cluster module's; what differs is here: what must already exist, checked first.

use crate::substrate::cluster::prerequisites;
use crate::substrate::cluster::Clusters;

/// Checks that kubectl is there and that every context of `clusters` is in the kubeconfig,
/// before anything is applied. The error is the exit-3 message.
pub fn check(clusters: &Clusters) -> Result<(), String> {
    let missing = prerequisites::missing(&[prerequisites::KUBECTL]);
    if !missing.is_empty() {
        return Err(prerequisites::message(
            "hadr run --substrate kubernetes",
            &missing,
        ));
    }
    let output = std::process::Command::new("kubectl")
        .args(["config", "get-contexts", "-o", "name"])
        .output()
        .map_err(|e| format!("kubectl config get-contexts: {e}"))?;
    let known: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let absent: Vec<&str> = clusters
        .regions
        .iter()
        .map(|r| r.context.as_str())
        .filter(|c| !known.iter().any(|k| k == c))
        .collect();
    if !absent.is_empty() {
        return Err(format!(
            "hadr run --substrate kubernetes: context(s) not in the kubeconfig: {}\n  = hint: `kubectl config get-contexts` lists what there is (KUBECONFIG selects the file)",
            absent.join(", ")
        ));
    }
    Ok(())
}
