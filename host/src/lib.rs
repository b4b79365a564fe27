//! # mlprobe (host)
//!
//! The `std` side of mlprobe: files, the training loop over a dataset, reports and the command
//! line. Every number is computed by [`mlprobe_core`]; this crate moves bytes into core types
//! and prints what core computed.

pub mod ab;
pub mod chaos;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod data;
pub mod device;
pub mod drift;
pub mod error;
pub mod eval;
pub mod expect;
pub mod firmware;
pub mod http1;
pub mod init;
pub mod interop;
pub mod limits;
pub mod link;
pub mod load;
pub mod loadgen;
pub mod measure;
pub mod model_io;
pub mod output;
pub mod pipeline;
pub mod predict;
pub mod provenance;
pub mod qemu;
pub mod quantize;
pub mod report;
pub mod serve;
pub mod suite;
pub mod train;
