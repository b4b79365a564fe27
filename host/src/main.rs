//! The `mlprobe` command: parse, run, report, exit with the code of DESIGN.md.
fn main() -> std::process::ExitCode {
    // Reading Parquet allocates and frees a buffer of about a megabyte per page and column:
    // glibc maps each anew (its threshold adapts only after the first free) and hands the top
    // of the heap back to the kernel as soon as 128 KiB are free, so every page was fresh
    // memory, zeroed by the kernel at its first touch. Keeping buffers below 8 MiB on the heap
    // and up to 64 MiB of free heap (not more than the peak held) reuses them: 8-12 % off
    // `expect` on Parquet (`cargo bench -p mlprobe --bench expect`), the same peak memory.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 8 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
    std::process::ExitCode::from(mlprobe::cli::main())
}
