//! The `mlprobe` command: parse, run, report, exit with the code of DESIGN.md.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(mlprobe::cli::main())
}
