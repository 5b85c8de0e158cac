//! numstat: reads numbers from standard input and prints summary statistics.

use std::io::Read;
use std::process::ExitCode;

use numstat::parse::parse_numbers;
use numstat::stats;

fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("error: cannot read standard input: {e}");
        return ExitCode::FAILURE;
    }
    let numbers = match parse_numbers(&input) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("count: {}", numbers.len());
    if let (Some(mean), Some(median)) = (stats::mean(&numbers), stats::median(&numbers)) {
        println!("mean: {mean}");
        println!("median: {median}");
    }
    ExitCode::SUCCESS
}
