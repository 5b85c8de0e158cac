//! What a command's failure says about the sandbox: a limit it hit or the network it does
//! not have, named with the setting that changes it, so that neither the model nor the
//! human mistakes a wall for a bug.

/// What the command ran into, judged from its output and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walls {
    /// The sandbox has no network (`[sandbox] network = false`).
    pub network_off: bool,
    pub max_processes: Option<u64>,
    pub max_memory_mb: Option<u64>,
    /// The sandbox's memory cgroup killed a process during the command.
    pub memory_killed: bool,
}

/// One line per wall the output shows the command ran into.
pub fn explain(output: &str, walls: Walls) -> Vec<String> {
    let lower = output.to_ascii_lowercase();
    let mut out = vec![];
    if walls.memory_killed {
        out.push(format!(
            "[sandbox] a process was killed at the sandbox's memory limit ({} MB, `[sandbox] max_memory_mb`)",
            walls.max_memory_mb.unwrap_or(0)
        ));
    } else if let Some(mb) = walls.max_memory_mb
        && [
            "cannot allocate memory",
            "memory allocation of",
            "out of memory",
            "memoryerror",
            "bad_alloc",
        ]
        .iter()
        .any(|p| lower.contains(p))
    {
        out.push(format!(
            "[sandbox] memory is limited to {mb} MB (`[sandbox] max_memory_mb`)"
        ));
    }
    if let Some(n) = walls.max_processes
        && (lower.contains("cannot fork")
            || ((lower.contains("resource temporarily unavailable")
                || lower.contains("fork: retry"))
                && (lower.contains("fork") || lower.contains("thread") || lower.contains("spawn"))))
    {
        out.push(format!(
            "[sandbox] processes are limited to {n} (`[sandbox] max_processes`)"
        ));
    }
    if walls.network_off
        && [
            "network is unreachable",
            "temporary failure in name resolution",
            "could not resolve host",
            "name or service not known",
            "failed to lookup address",
            "no address associated with hostname",
            "getaddrinfo",
            "dns error",
        ]
        .iter()
        .any(|p| lower.contains(p))
    {
        out.push(
            "[sandbox] the network is off: only loopback is reachable (`[sandbox] network = true` in .mission/mission.toml turns it on)".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALLS: Walls = Walls {
        network_off: true,
        max_processes: Some(512),
        max_memory_mb: Some(1024),
        memory_killed: false,
    };

    #[test]
    fn each_wall_is_named_with_its_setting() {
        let net = explain("curl: (6) Could not resolve host: example.com", WALLS);
        assert_eq!(net.len(), 1);
        assert!(net[0].contains("network = true"), "{net:?}");
        let fork = explain("sh: fork: Resource temporarily unavailable", WALLS);
        assert!(fork[0].contains("max_processes"), "{fork:?}");
        let dash = explain("sh: 0: Cannot fork", WALLS);
        assert!(dash[0].contains("max_processes"), "{dash:?}");
        let mem = explain("memory allocation of 68719476736 bytes failed", WALLS);
        assert!(mem[0].contains("1024 MB"), "{mem:?}");
        let killed = explain(
            "",
            Walls {
                memory_killed: true,
                ..WALLS
            },
        );
        assert!(killed[0].contains("killed"), "{killed:?}");
        assert!(explain("all 12 tests passed", WALLS).is_empty());
        let on = Walls {
            network_off: false,
            ..WALLS
        };
        assert!(explain("Could not resolve host", on).is_empty());
    }
}
