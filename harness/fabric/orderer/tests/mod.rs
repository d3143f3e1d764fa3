//! The orderer through its public API, on an in-process network of 1 or 3 nodes.

mod driver;
mod scenarios;
mod support;
