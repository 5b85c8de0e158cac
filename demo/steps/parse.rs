//! Parsing whitespace-separated numbers.

use std::fmt;

/// A token that is not a number, and the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub token: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {:?} is not a number", self.line, self.token)
    }
}

impl std::error::Error for ParseError {}

/// Parses every whitespace-separated token of `input` as a finite number.
pub fn parse_numbers(input: &str) -> Result<Vec<f64>, ParseError> {
    let mut numbers = Vec::new();
    for (i, line) in input.lines().enumerate() {
        for token in line.split_whitespace() {
            match token.parse::<f64>() {
                Ok(n) if n.is_finite() => numbers.push(n),
                _ => {
                    return Err(ParseError {
                        line: i + 1,
                        token: token.to_string(),
                    })
                }
            }
        }
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_newlines_separate_numbers() {
        assert_eq!(parse_numbers("1 2.5\n-3\n\n4e1"), Ok(vec![1.0, 2.5, -3.0, 40.0]));
        assert_eq!(parse_numbers(""), Ok(vec![]));
    }

    #[test]
    fn a_bad_token_names_its_line() {
        let err = parse_numbers("1\n2 abc\n").unwrap_err();
        assert_eq!(err, ParseError { line: 2, token: "abc".into() });
        assert_eq!(err.to_string(), "line 2: \"abc\" is not a number");
        assert!(parse_numbers("inf").is_err());
    }
}
