//! `hadr node` (one node on real sockets, what the containers substrate starts) and
//! `hadr containers clean|router`.

use super::Exit;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// What the spec describes: peer, orderer, ca, console or client
    #[arg(long, value_parser = ["peer", "orderer", "ca", "console", "client"])]
    pub role: String,
    /// The node's spec (JSON, as the containers substrate writes it)
    #[arg(long, value_name = "FILE")]
    pub spec: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ContainersCommand {
    /// Remove every container, network and volume of hadr runs (those a killed run left), and the node images
    #[command(after_help = concat!(
        "Removes what carries the hadr.run label, running or not, the runs' folders under the\n",
        "temporary directory, and the node images (label hadr.image=node: one per hadr build,\n",
        "rebuilt by the next run). Exit 0 when done, 3 when Docker is not reachable."
    ))]
    Clean,
    /// Idle until SIGTERM: the router container between a run's region networks
    #[command(hide = true)]
    Router,
}

pub fn node(args: &NodeArgs) -> Exit {
    match crate::node::process::run(&args.role, &args.spec) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            err!("hadr node: {e}");
            Exit::InvalidInput
        }
    }
}

pub fn containers(command: &ContainersCommand) -> Exit {
    match command {
        ContainersCommand::Clean => match crate::substrate::containers::clean() {
            Ok(removed) if removed.is_empty() => {
                out!("hadr containers clean: nothing to remove");
                Exit::Ok
            }
            Ok(removed) => {
                for what in &removed {
                    out!("removed {what}");
                }
                Exit::Ok
            }
            Err(e) => {
                err!("hadr containers clean: {e}");
                Exit::SubstrateUnavailable
            }
        },
        ContainersCommand::Router => router(),
    }
}

/// The router's process: nothing to do but be there (the kernel forwards), and stop at once
/// when Docker stops it.
fn router() -> Exit {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            err!("hadr containers router: {e}");
            return Exit::ExpectationFailed;
        }
    };
    runtime.block_on(async {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
    Exit::Ok
}
