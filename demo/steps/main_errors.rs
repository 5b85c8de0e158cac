//! numstat: reads numbers from standard input and prints summary statistics.

use std::io::Read;
use std::process::ExitCode;

use numstat::parse::parse_numbers;
use numstat::stats;

/// Bad input or bad usage: distinct from success (0) and from a crash (101).
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let json = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--json") => true,
        Some(other) => {
            eprintln!("error: unknown option {other}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("error: cannot read standard input: {e}");
        return ExitCode::FAILURE;
    }
    let numbers = match parse_numbers(&input) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mean = stats::mean(&numbers);
    let median = stats::median(&numbers);
    if json {
        let field = |v: Option<f64>| v.map_or_else(|| "null".to_string(), |x| x.to_string());
        println!(
            "{{\"count\":{},\"mean\":{},\"median\":{}}}",
            numbers.len(),
            field(mean),
            field(median)
        );
    } else {
        println!("count: {}", numbers.len());
        if let (Some(mean), Some(median)) = (mean, median) {
            println!("mean: {mean}");
            println!("median: {median}");
        }
    }
    ExitCode::SUCCESS
}
