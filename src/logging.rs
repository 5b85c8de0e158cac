//! The runner's diagnostic log: `tracing` events written to `.mission/logs/runner.log`,
//! never to the terminal (the console owns the screen). `MISSION_LOG` (or `RUST_LOG`)
//! sets the filter, `info` by default. The file is size-capped: at `MAX_BYTES` it moves to
//! `runner.log.1` (and so on, `KEEP` files), so a long mission cannot fill the disk.
//!
//! Written by hand rather than with tracing-appender: its rolling appender rotates by
//! time only, and a mission's log must be bounded by size.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub const MAX_BYTES: u64 = 4 << 20;
pub const KEEP: usize = 3;

/// Starts logging to `dir/runner.log` for the rest of this process. A second call (a
/// demo hosting twice, tests) keeps the first.
pub fn init(dir: &Path) {
    let Ok(writer) = SizeCapped::open(dir.join("runner.log"), MAX_BYTES, KEEP) else {
        return;
    };
    let filter = std::env::var("MISSION_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info,rmcp=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init();
}

/// A log file that rotates once it passes a size.
#[derive(Clone)]
pub struct SizeCapped {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    path: PathBuf,
    file: File,
    len: u64,
    max: u64,
    keep: usize,
}

impl SizeCapped {
    pub fn open(path: PathBuf, max: u64, keep: usize) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = open_append(&path)?;
        let len = file.metadata()?.len();
        Ok(SizeCapped {
            inner: Arc::new(Mutex::new(Inner {
                path,
                file,
                len,
                max,
                keep,
            })),
        })
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

impl Inner {
    fn rotate(&mut self) -> std::io::Result<()> {
        let name = |i: usize| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{i}"));
            PathBuf::from(p)
        };
        let _ = std::fs::remove_file(name(self.keep));
        for i in (1..self.keep).rev() {
            let _ = std::fs::rename(name(i), name(i + 1));
        }
        std::fs::rename(&self.path, name(1))?;
        self.file = open_append(&self.path)?;
        self.len = 0;
        Ok(())
    }
}

impl Write for SizeCapped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.len > 0 && inner.len + buf.len() as u64 > inner.max {
            inner.rotate()?;
        }
        inner.file.write_all(buf)?;
        inner.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for SizeCapped {
    type Writer = SizeCapped;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_at_its_cap_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runner.log");
        let mut w = SizeCapped::open(path.clone(), 100, 2).unwrap();
        for i in 0..20 {
            writeln!(w, "line {i:02} {}", "x".repeat(30)).unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&path) <= 100, "{}", size(&path));
        assert!(size(&dir.path().join("runner.log.1")) > 0);
        assert!(size(&dir.path().join("runner.log.2")) > 0);
        assert!(!dir.path().join("runner.log.3").exists());
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.contains("line 19"), "{last}");
    }
}
