# A mission runner in a container: our binary and git, nothing else.
#   docker build -t mission .
#   docker run --rm -it -v "$PWD:/repo" -e ANTHROPIC_API_KEY mission start "…" --headless
# The sandbox needs user namespaces (and Landlock) from the host kernel; where a
# container runtime forbids them, each command says which layer is NOT ENFORCED.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin mission

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/mission /usr/local/bin/mission
# Worktrees and the fleet registry live on the repository's volume, so a restarted
# container finds its mission where it left it.
ENV XDG_DATA_HOME=/repo/.mission-data/share \
    XDG_STATE_HOME=/repo/.mission-data/state
WORKDIR /repo
ENTRYPOINT ["mission"]
CMD ["--help"]
