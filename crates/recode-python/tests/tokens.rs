//! `comment_ranges` / `string_ranges` against what Python's tokenizer reports.

use recode_python::{comment_ranges, string_ranges};

fn texts<'a>(src: &'a str, ranges: &[std::ops::Range<usize>]) -> Vec<&'a str> {
    ranges.iter().map(|r| &src[r.clone()]).collect()
}

#[test]
fn escaped_quote_hash_is_inside_the_string() {
    let src = "x = \"say \\\"#hi\\\"\"  # real\n";
    assert_eq!(texts(src, &string_ranges(src)), ["\"say \\\"#hi\\\"\""]);
    assert_eq!(texts(src, &comment_ranges(src)), ["# real"]);
}

#[test]
fn apostrophe_in_comment_opens_nothing() {
    let src = "# don't\nx = 'a'  # it's\ny = 1\n";
    assert_eq!(texts(src, &comment_ranges(src)), ["# don't", "# it's"]);
    assert_eq!(texts(src, &string_ranges(src)), ["'a'"]);
}

#[test]
fn triple_quoted_string_hides_hash() {
    let src = "def f():\n    '''doc # not comment\n    still doc'''\n    return 1  # yes\n";
    assert_eq!(texts(src, &string_ranges(src)), ["'''doc # not comment\n    still doc'''"]);
    assert_eq!(texts(src, &comment_ranges(src)), ["# yes"]);
}

#[test]
fn f_strings_are_one_range_and_hide_hash() {
    let src = "s = f'#{x!r:>{w}} # text' + rb'\\d#' + F\"{y}\"  # c\n";
    assert_eq!(texts(src, &string_ranges(src)), ["f'#{x!r:>{w}} # text'", "rb'\\d#'", "F\"{y}\""]);
    assert_eq!(texts(src, &comment_ranges(src)), ["# c"]);
}

#[test]
fn implicit_concatenation_gives_separate_ranges() {
    let src = "x = ('a'\n     \"b\")  # c\n";
    assert_eq!(texts(src, &string_ranges(src)), ["'a'", "\"b\""]);
    assert_eq!(texts(src, &comment_ranges(src)), ["# c"]);
}

#[test]
fn crlf_tabs_and_unicode() {
    let src = "x = 'é#'\t# naïve ☃\r\nif x:\r\n\ty = \"日本#\"  # 二\r\n";
    assert_eq!(texts(src, &comment_ranges(src)), ["# naïve ☃", "# 二"]);
    assert_eq!(texts(src, &string_ranges(src)), ["'é#'", "\"日本#\""]);
    // Ranges are byte offsets on char boundaries, excluding the line break.
    for r in comment_ranges(src) {
        assert!(src.is_char_boundary(r.start) && src.is_char_boundary(r.end));
        assert!(!src[r].contains('\r'));
    }
}

#[test]
fn comment_only_and_empty_sources() {
    assert_eq!(texts("#", &comment_ranges("#")), ["#"]);
    assert!(comment_ranges("").is_empty());
    assert!(string_ranges("").is_empty());
    assert_eq!(texts("x = 1 #\n", &comment_ranges("x = 1 #\n")), ["#"]);
}

#[test]
fn best_effort_on_invalid_code() {
    // Unterminated string: the comment on the next line is still found.
    let src = "x = 'abc\n# after\nprint x  # py2\n";
    assert_eq!(texts(src, &comment_ranges(src)), ["# after", "# py2"]);
    // Unterminated f-string runs to its last piece; nothing panics.
    let src = "x = f'{a} b\ny = 2\n";
    let strings = string_ranges(src);
    assert_eq!(strings.len(), 1);
    assert!(src[strings[0].clone()].starts_with("f'{a} b"));
    for src in ["'''", "f'{", "\"\\", "#\0'", "\u{feff}# c", "f'{x:{y:{z}}}'", "f\"{'#'}\" # c"] {
        let _ = comment_ranges(src);
        let _ = string_ranges(src);
    }
}
