//! The container images a cluster run uses, with their tags. None can be pulled on a machine
//! without a registry: `hadr kind up` loads what it needs with `kind load docker-image`, which
//! takes images already in the local Docker.
//!
//! Tags are fabric-operator's sample-network defaults (`sample-network/network`, the
//! `context` lines, hyperledger-labs/fabric-operator at 10283a69), research §1.2. Those the
//! sample leaves at `latest` are marked: they float.

/// One image: repository and tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    pub repository: &'static str,
    pub tag: &'static str,
    /// What it is for.
    pub role: &'static str,
}

impl Image {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    /// Whether the tag moves (the sample's `latest`).
    pub fn floats(&self) -> bool {
        self.tag.starts_with("latest")
    }
}

/// The kind node image: sample-network pins Kubernetes 1.25 ("Pin k8s to v1.25.x").
pub const KIND_NODE: Image = Image {
    repository: "kindest/node",
    tag: "v1.25.3",
    role: "kind node (Kubernetes 1.25)",
};
/// sample-network-multi-org's justfile pins `:1.0`; sample-network uses `latest-amd64`.
pub const OPERATOR: Image = Image {
    repository: "ghcr.io/hyperledger-labs/fabric-operator",
    tag: "1.0",
    role: "fabric-operator",
};
pub const PEER: Image = Image {
    repository: "hyperledger/fabric-peer",
    tag: "2.5.8",
    role: "peer",
};
pub const ORDERER: Image = Image {
    repository: "hyperledger/fabric-orderer",
    tag: "2.5.8",
    role: "ordering node",
};
pub const CA: Image = Image {
    repository: "hyperledger/fabric-ca",
    tag: "1.5.11",
    role: "CA",
};
pub const TOOLS: Image = Image {
    repository: "hyperledger/fabric-tools",
    tag: "2.5.8",
    role: "configtxlator (real console), peer CLI",
};
pub const INIT: Image = Image {
    repository: "registry.access.redhat.com/ubi8/ubi-minimal",
    tag: "latest",
    role: "init containers of every component",
};
pub const GRPCWEB: Image = Image {
    repository: "ghcr.io/hyperledger-labs/grpc-web",
    tag: "latest",
    role: "grpc-web proxy beside peers and ordering nodes",
};
pub const COUCHDB: Image = Image {
    repository: "couchdb",
    tag: "3.3.3",
    role: "the real console's database",
};
pub const CONSOLE: Image = Image {
    repository: "ghcr.io/hyperledger-labs/fabric-console",
    tag: "latest",
    role: "fabric-operations-console (--console real)",
};
pub const DEPLOYER: Image = Image {
    repository: "ghcr.io/ibm-blockchain/fabric-deployer",
    tag: "latest-amd64",
    role: "the real console's deployer (--console real)",
};
/// The images of ingress-nginx's kind provider manifest at controller-v1.1.2 (the version
/// fabric-operator's `config/ingress/kind/kustomization.yaml` pins). The tag's manifest names
/// them `k8s.gcr.io/...@sha256:...`; registry.k8s.io serves the same images, and the plan's
/// kustomization renames them to these tags (manifests::ingress_nginx).
pub const INGRESS_CONTROLLER: Image = Image {
    repository: "registry.k8s.io/ingress-nginx/controller",
    tag: "v1.1.2",
    role: "ingress-nginx controller (kind)",
};
pub const INGRESS_CERTGEN: Image = Image {
    repository: "registry.k8s.io/ingress-nginx/kube-webhook-certgen",
    tag: "v1.1.1",
    role: "ingress-nginx admission webhook certificates (kind)",
};
/// Chaos Mesh's latest tag when the research was done (chaos-mesh/chaos-mesh v2.8.3).
pub const CHAOS_MESH: [Image; 2] = [
    Image {
        repository: "ghcr.io/chaos-mesh/chaos-mesh",
        tag: "v2.8.3",
        role: "Chaos Mesh controller (--chaos chaos-mesh)",
    },
    Image {
        repository: "ghcr.io/chaos-mesh/chaos-daemon",
        tag: "v2.8.3",
        role: "Chaos Mesh daemon (--chaos chaos-mesh)",
    },
];

/// hadr's own mock console image, built from this binary (`FROM scratch`).
pub fn mock_console() -> Image {
    Image {
        repository: "hadr-console",
        tag: env!("CARGO_PKG_VERSION"),
        role: "hadr's mock console (--console mock), built here from hadr's binary",
    }
}

/// The images a run with `console` needs in every cluster, in a stable order.
pub fn for_run(console: super::ConsoleChoice, flavor: super::Flavor) -> Vec<Image> {
    let mut images = Vec::new();
    if flavor == super::Flavor::Kind {
        images.extend([INGRESS_CONTROLLER, INGRESS_CERTGEN]);
    }
    images.extend([OPERATOR, INIT, CA, PEER, ORDERER, GRPCWEB]);
    match console {
        super::ConsoleChoice::Real => images.extend([CONSOLE, DEPLOYER, TOOLS, COUCHDB]),
        super::ConsoleChoice::Mock => images.push(mock_console()),
    }
    images
}
