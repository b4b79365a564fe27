//! The bodies of mlprobe's fuzz targets, shared by the cargo-fuzz binaries and the workspace's
//! smoke test (see [`targets`]).

pub mod targets;
