//! Reading files whose size an attacker or a mistake could make unbounded.

use std::{fs::File, io::Read, path::Path};

/// Reads at most `max` bytes of `path`; a longer file is an
/// [`std::io::ErrorKind::FileTooLarge`] error. Unlike a size check on the
/// file's metadata, this also bounds devices, pipes and `/proc` files, whose
/// reported size is zero.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than the limit of {max} bytes"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_files_and_devices() {
        let dir = std::env::temp_dir().join(format!("chunkseq-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        std::fs::write(&f, [7u8; 10]).unwrap();
        assert_eq!(read_bounded(&f, 10).unwrap().len(), 10);
        assert_eq!(
            read_bounded(&f, 9).unwrap_err().kind(),
            std::io::ErrorKind::FileTooLarge
        );
        #[cfg(unix)]
        assert_eq!(
            read_bounded(Path::new("/dev/zero"), 1024)
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::FileTooLarge
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
