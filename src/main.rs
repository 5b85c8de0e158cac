fn main() {
    // `mission log | head` should end quietly, like any Unix tool, not panic.
    // SAFETY: setting a signal disposition before any thread is started.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    std::process::exit(mission::cli::main());
}
