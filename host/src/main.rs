//! The `mlprobe` command: parse, run, report, exit with the code of DESIGN.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(mlprobe::cli::main())
}
