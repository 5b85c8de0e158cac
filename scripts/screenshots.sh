#!/usr/bin/env bash
# Regenerates screenshots/*.txt from a real demo run (paced, about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --test all screenshots -- --ignored --nocapture
ls -1 screenshots/
