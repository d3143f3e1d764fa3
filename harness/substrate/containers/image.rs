//! The node image, built here from hadr's own binary: no registry, nothing pulled. A
//! `FROM scratch` image holding the binary and, when it is dynamically linked, the shared
//! libraries `ldd` names (so the ordinary release build serves, and no second static build is
//! needed); a static binary (`RUSTFLAGS='-C target-feature=+crt-static'`) is copied alone.
//! Tagged by the binary's SHA-256, so an unchanged binary is built once.

use super::docker::{docker, DockerError};
use std::path::{Path, PathBuf};

pub const IMAGE_REPOSITORY: &str = "hadr-node";
/// The label every node image carries (`hadr containers clean` removes them by it).
pub const NODE_IMAGE_LABEL: &str = "hadr.image=node";

/// The image of `binary`, built unless it exists.
pub async fn ensure(binary: &Path) -> Result<String, DockerError> {
    let bytes = std::fs::read(binary).map_err(|e| {
        DockerError(format!(
            "cannot read the hadr binary {}: {e}",
            binary.display()
        ))
    })?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    let tag = format!("{IMAGE_REPOSITORY}:{}", &hex::encode(digest.as_ref())[..16]);
    if docker(&["image", "inspect", "--format", "{{.Id}}", &tag])
        .await
        .is_ok()
    {
        return Ok(tag);
    }
    let context = tempdir("hadr-image")?;
    let built = build(binary, &context, &tag).await;
    let _ = std::fs::remove_dir_all(&context);
    built.map(|()| tag)
}

async fn build(binary: &Path, context: &Path, tag: &str) -> Result<(), DockerError> {
    let rootfs = context.join("rootfs");
    let copy = |from: &Path, to: &Path| -> Result<(), DockerError> {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| DockerError(format!("{}: {e}", parent.display())))?;
        }
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| DockerError(format!("copy {}: {e}", from.display())))
    };
    copy(binary, &rootfs.join("hadr"))?;
    for library in shared_libraries(binary)? {
        copy(
            &library,
            &rootfs.join(library.strip_prefix("/").unwrap_or(&library)),
        )?;
    }
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/hadr\"]\n",
    )
    .map_err(|e| DockerError(format!("Dockerfile: {e}")))?;
    let context = context.to_string_lossy().to_string();
    docker(&[
        "build",
        "--quiet",
        "--label",
        NODE_IMAGE_LABEL,
        "-t",
        tag,
        &context,
    ])
    .await?;
    Ok(())
}

/// The shared libraries and loader a dynamically linked binary needs (none when static).
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, DockerError> {
    let output = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| DockerError(format!("cannot run ldd on the hadr binary: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or
    // `/lib64/ld-linux-x86-64.so.2 (0x...)`; a static binary prints "not a dynamic executable".
    Ok(text
        .lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

/// A new directory under the system's temporary directory.
pub fn tempdir(prefix: &str) -> Result<PathBuf, DockerError> {
    let unique = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        crate::clock::Clock::System.unix_ms()
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir).map_err(|e| DockerError(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}
