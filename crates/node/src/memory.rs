//! The process's resident memory, as the kernel counts it, for the devnet's
//! flood report and the `chunkseq_process_resident_bytes` metric.

/// Bytes of this process resident in memory (Linux `/proc/self/statm`,
/// pages of 4 KiB); `None` where that file does not exist or parse.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(4096)
}

/// `bytes` in MiB, for people.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_resident_memory() {
        if std::path::Path::new("/proc/self/statm").exists() {
            let r = resident_bytes().unwrap_or(0);
            assert!(r > 1024 * 1024, "{r}");
        }
        assert!((mib(3 * 1024 * 1024) - 3.0).abs() < 1e-9);
    }
}
