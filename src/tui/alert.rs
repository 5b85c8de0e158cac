//! The console's own way to call a human: a bell and desktop notifications. (When the
//! runner dies, the link runs `[notify] command` and `[hooks] runner_stopped`.)

/// BEL, then OSC 9 (iTerm2, Windows Terminal, kitty…) and OSC 777 (urxvt, foot, VTE)
/// desktop notifications; inside tmux each OSC is wrapped for passthrough.
pub fn terminal_alert(message: &str, in_tmux: bool) -> Vec<u8> {
    let clean: String = message
        .chars()
        .filter(|c| !c.is_control() && *c != ';')
        .take(200)
        .collect();
    let oscs = [
        format!("\x1b]9;mission: {clean}\x07"),
        format!("\x1b]777;notify;mission;{clean}\x07"),
    ];
    let mut out = b"\x07".to_vec();
    for osc in oscs {
        if in_tmux {
            out.extend(b"\x1bPtmux;");
            out.extend(osc.replace('\x1b', "\x1b\x1b").as_bytes());
            out.extend(b"\x1b\\");
        } else {
            out.extend(osc.as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_ring_and_notify_and_survive_tmux() {
        let plain = terminal_alert("plan: awaits\napproval; now", false);
        assert!(plain.starts_with(b"\x07\x1b]9;mission: plan: awaitsapproval now\x07"));
        let tmux = String::from_utf8(terminal_alert("x", true)).unwrap();
        assert!(
            tmux.contains("\x1bPtmux;\x1b\x1b]9;mission: x\x07\x1b\\"),
            "{tmux:?}"
        );
    }
}
