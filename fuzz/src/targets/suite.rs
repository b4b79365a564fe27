//! Expectation-suite parsing (`mlprobe::suite::Suite::parse`, TOML): no panic on any text, and a
//! suite that parses is written back (`Suite::to_toml`) as TOML that parses to the same suite,
//! whose own TOML is the same text.
use mlprobe::suite::Suite;
use std::path::Path;

/// One execution of the `suite` target.
pub fn run(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let path = Path::new("fuzz.suite.toml");
    let Ok(suite) = Suite::parse(path, text) else {
        return;
    };
    let written = suite.to_toml("fuzz");
    let again = Suite::parse(path, &written)
        .unwrap_or_else(|e| panic!("to_toml wrote a suite that does not parse: {e}\n{written}"));
    assert_eq!(suite.name, again.name);
    assert_eq!(suite.expectations.len(), again.expectations.len());
    for (a, b) in suite.expectations.iter().zip(&again.expectations) {
        assert_eq!(a.column, b.column);
        assert_eq!(a.type_name(), b.type_name());
    }
    assert_eq!(written, again.to_toml("fuzz"));
}
