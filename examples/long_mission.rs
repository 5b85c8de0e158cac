//! Makes a repository holding a synthetic long mission, to try `status`, `attach` and
//! `resume` on (and to measure them): `cargo run --release --example long_mission -- DIR
//! 1000000`, then `mission status --dir DIR`.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "long-mission".into()));
    let events: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    std::fs::create_dir_all(&dir)?;
    let git = mission::git::Git::init(&dir)?;
    std::fs::write(dir.join("README.md"), "# a long mission\n")?;
    git.commit_all("initial")?;
    git.exclude_mission_dir()?;
    let mission_dir = dir.join(".mission");
    std::fs::create_dir_all(&mission_dir)?;
    let (_, count) = mission::bench::long_mission(&mission_dir, events)?;
    println!("{}: {count} events", dir.display());
    Ok(())
}
