//! numstat: summary statistics for a list of numbers.
