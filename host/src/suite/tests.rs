use super::*;

fn parse(text: &str) -> Result<Suite> {
    Suite::parse(Path::new("s.toml"), text)
}

fn message(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

const ALL: &str = r#"
name = "all"

[[expectations]]
type = "expect_table_row_count_to_be_between"
min_value = 1

[[expectations]]
type = "expect_table_columns_to_match_ordered_list"
column_list = ["a", "b"]

[[expectations]]
type = "expect_column_to_exist"
column = "a"

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "a"
mostly = 0.5

[[expectations]]
type = "expect_column_values_to_be_between"
column = "a"
min_value = 0
max_value = 1.5
strict_max = true
meta = { notes = "hand-checked" }

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "b"
value_set = [0, 1, 2]

[[expectations]]
type = "expect_column_mean_to_be_between"
column = "a"
max_value = 3.0

[[expectations]]
type = "expect_column_stdev_to_be_between"
column = "a"
min_value = 0.0

[[expectations]]
type = "expect_column_min_to_be_between"
column = "a"
min_value = -1.0
max_value = 1.0

[[expectations]]
type = "expect_column_max_to_be_between"
column = "a"
min_value = -1.0
max_value = 1.0

[[expectations]]
type = "expect_column_quantile_values_to_be_between"
column = "a"
quantile_ranges = { quantiles = [0.05, 0.5], value_ranges = [[-inf, 1.0], [0.25, inf]] }

[[expectations]]
type = "expect_column_psi_to_be_less_than"
column = "a"
partition_object = { bins = [0.0, 0.5, 1.0], weights = [0.5, 0.5] }

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "t"
value_set = ["x", "y, \"z\"", 3]
mostly = 0.5

[[expectations]]
type = "expect_column_values_to_not_be_in_set"
column = "t"
value_set = ["bad"]

[[expectations]]
type = "expect_column_values_to_match_regex"
column = "t"
regex = '^\w+$'

[[expectations]]
type = "expect_column_value_lengths_to_be_between"
column = "t"
min_value = 1

[[expectations]]
type = "expect_column_values_to_be_unique"
column = "t"

[[expectations]]
type = "expect_column_distinct_values_to_be_in_set"
column = "t"
value_set = ["x"]

[[expectations]]
type = "expect_column_most_common_value_to_be_in_set"
column = "t"
value_set = ["x"]
ties_okay = true

[[expectations]]
type = "expect_column_unique_value_count_to_be_between"
column = "t"
max_value = 3

[[expectations]]
type = "expect_column_proportion_of_unique_values_to_be_between"
column = "t"
min_value = 0.25
max_value = 0.75

[[expectations]]
type = "expect_column_values_to_be_of_type"
column = "t"
type_ = "str"

[[expectations]]
type = "expect_column_kl_divergence_to_be_less_than"
column = "t"
partition_object = { values = ["x", "y"], weights = [0.25, 0.75] }
threshold = 0.5
tail_weight_holdout = 0.01
"#;

#[test]
fn parses_every_type_and_round_trips() {
    let s = parse(ALL).unwrap();
    assert_eq!(s.name, "all");
    assert_eq!(s.expectations.len(), 23);
    // A `value_set` with a string makes `in_set` a text expectation.
    assert!(matches!(s.expectations[12].check, Check::Text(_)));
    assert!(matches!(s.expectations[3].check, Check::Core(_)));
    let names: Vec<&str> = s.expectations.iter().map(Expectation::type_name).collect();
    for t in type_names() {
        assert!(names.contains(&t), "{t}");
    }
    assert_eq!(s.expectations[0].line, 4);
    assert_eq!(s.expectations[4].line, 21);
    let again = parse(&s.to_toml("generated")).unwrap();
    let strip = |s: &Suite| {
        s.expectations
            .iter()
            .map(|e| (e.check.clone(), e.column.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again), strip(&s));
}

#[test]
fn errors_name_the_line() {
    let m = message("[[expectations]]\ntype = \"expect_column_to_be_nice\"\ncolumn = \"a\"\n");
    assert!(
        m.starts_with("s.toml:2:8: unknown expectation type `expect_column_to_be_nice`"),
        "{m}"
    );
    let m =
        message("[[expectations]]\ntype = \"expect_column_values_to_be_in_set\"\ncolumn = \"a\"\n");
    assert!(
        m.starts_with(
            "s.toml:2:8: `expect_column_values_to_be_in_set` needs the parameter `value_set`"
        ),
        "{m}"
    );
    let m = message(
        "[[expectations]]\ntype = \"expect_column_to_exist\"\ncolumn = \"a\"\nmin_value = 1\n",
    );
    assert!(
        m.starts_with("s.toml:4:1: `expect_column_to_exist` has no parameter `min_value`"),
        "{m}"
    );
    let m = message(
        "[[expectations]]\ntype = \"expect_column_values_to_be_between\"\ncolumn = \"a\"\nmin_value = 2\nmax_value = 1\n",
    );
    assert!(
        m.starts_with("s.toml:4:13: min_value 2 is greater than max_value 1"),
        "{m}"
    );
    let m = message(
        "[[expectations]]\ntype = \"expect_column_values_to_not_be_null\"\ncolumn = \"a\"\nmostly = 1.5\n",
    );
    assert!(
        m.starts_with("s.toml:4:10: mostly = 1.5: mostly must be within [0, 1]"),
        "{m}"
    );
    let m = message(
        "[[expectations]]\ntype = \"expect_column_values_to_be_between\"\ncolumn = \"a\"\n",
    );
    assert!(
        m.contains("min_value and max_value cannot both be absent"),
        "{m}"
    );
    let m = message("[[expectations]]\ntype = \"expect_column_to_exist\"\ncolumn = 3\n");
    assert!(
        m.starts_with("s.toml:3:10: `column` must be a string, not integer"),
        "{m}"
    );
    let m = message("nmae = \"x\"\n");
    assert!(m.starts_with("s.toml:1:1: unknown field `nmae`"), "{m}");
    let m = message("[[expectations]]\ncolumn = \"a\"\n");
    assert!(m.contains("has no `type`"), "{m}");
}
