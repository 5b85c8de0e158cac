fn main() {
    eprintln!("numstat: not implemented yet");
    std::process::exit(1);
}
