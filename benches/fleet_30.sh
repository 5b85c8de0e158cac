#!/usr/bin/env bash
# The cost of supervision: 30 real runners (scripted models) waiting at their plan gates,
# then `mission fleet --json` timed and the fleet console's idle CPU and memory read from
# /proc. Usage: benches/fleet_30.sh [MISSION_BINARY]  (default target/release/mission)
set -euo pipefail
exe=$(realpath "${1:-target/release/mission}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
export XDG_STATE_HOME=$work/state XDG_DATA_HOME=$work/share XDG_CONFIG_HOME=$work/config
cleanup() {
  for r in "$work"/r*; do "$exe" abort --note "bench over" --dir "$r" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for i in $(seq 1 30); do
  r=$work/r$i
  mkdir -p "$r/.mission"
  git -C "$r" init -q
  echo "# r$i" > "$r/README.md"
  git -C "$r" add . && git -C "$r" -c user.email=b@b -c user.name=b commit -qm init
  cat > "$r/.mission/script.json" <<'JSON'
{"entries": [{"role": "orchestrator", "task_contains": "Plan the mission.", "turns": [{"tool_calls": [{"name": "submit_plan", "arguments": {"milestones": [{"id": "m1", "title": "Flag", "features": [{"id": "m1-f1", "title": "Create the flag", "description": "write flag.txt", "fulfills": ["a1"]}]}], "assertions": [{"id": "a1", "kind": "command", "text": "flag.txt exists", "command": "test -f flag.txt"}]}}]}]}]}
JSON
  printf '[roles.orchestrator]\nprovider = "scripted"\nmodel = "o"\n\n[roles.worker]\nprovider = "scripted"\nmodel = "w"\n' > "$r/.mission/mission.toml"
  "$exe" start "Mission number $i" --detach --dir "$r" >/dev/null
done
until [ "$("$exe" fleet --json | grep -c '"needs_you": true')" -ge 30 ]; do sleep 0.5; done
echo "30 runners at their gates"
start=$(date +%s%N)
for _ in $(seq 1 10); do "$exe" fleet --json >/dev/null; done
end=$(date +%s%N)
echo "mission fleet --json, 30 missions: $(( (end - start) / 10000000 )) ms per listing (mean of 10)"
python3 "$here/fleet_console.py" "$exe" 20
