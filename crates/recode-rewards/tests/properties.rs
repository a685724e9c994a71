//! Property tests of the reward functions over generated code and completions.

use proptest::prelude::*;
use recode_rewards::{Mode, is_python_space, normalize, score};

/// Lines of plausible code (some with comments, apostrophes, strings, unicode, tabs).
const LINES: &[&str] = &[
    "import numpy as np",
    "x = np.trapezoid(y, dx=0.5)  # integrate",
    "df = pd.concat([df, row], ignore_index=True)",
    "s = \"it's # not a comment\"",
    "# don't touch this",
    "t = 'a' + \"b\" + '''c'''",
    "doc = \"\"\"Multi\n\nline # kept\"\"\"",
    "if x > 0:",
    "    y = x * 2  # doubled",
    "\ty_tab = 1",
    "for i in range(3):",
    "    print(f\"{i} # value\")",
    "naïve = 'café'  # unicode",
    "",
    "   ",
    "def f(a, b=1):",
    "    return a + b",
];

fn code() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LINES), 0..12).prop_map(|lines| lines.join("\n"))
}

fn completion_around(code: &str) -> String {
    format!("Reasoning.\n</think>\n<answer>\n```python\n{code}\n```\n</answer>")
}

fn assert_allowed(s: &recode_rewards::Scores) {
    assert!(s.format == 1.0 || s.format == -1.0);
    assert!([2.0, -1.5, -2.0].contains(&s.em_star));
    assert!(s.es_star == -2.0 || (-1.5..=2.0).contains(&s.es_star));
    assert_eq!(s.em_star == 2.0, s.es_star == 2.0);
    assert_eq!(s.em_star == -2.0, s.es_star == -2.0);
    assert_eq!(s.total, s.format + s.es_star);
}

proptest! {
    #[test]
    fn scores_stay_in_their_ranges(completion in "[a-z<>/#'\"\\n `()=:_\u{1c}é]{0,80}", target in code()) {
        for mode in [Mode::Parity, Mode::Fixed] {
            assert_allowed(&score(&completion, &target, mode));
        }
    }

    #[test]
    fn parity_normal_form_has_no_blank_lines_or_outer_space(c in code()) {
        let n = normalize(&c, Mode::Parity);
        prop_assert_eq!(n.trim_matches(is_python_space), n.as_str());
        prop_assert!(n.split('\n').all(|line| !line.chars().all(is_python_space) || n.is_empty()), "{:?}", n);
    }

    #[test]
    fn the_target_itself_scores_full_marks_when_it_parses(c in code()) {
        for mode in [Mode::Parity, Mode::Fixed] {
            let s = score(&completion_around(&c), &c, mode);
            assert_allowed(&s);
            prop_assert_eq!(s.format, 1.0);
            if recode_python::parses_as_module(&normalize(&c, mode)) {
                prop_assert_eq!(s.em_star, 2.0, "{:?} in {:?}", c, mode);
            }
        }
    }

    #[test]
    fn fixed_mode_ignores_added_comments(c in code(), at in any::<prop::sample::Index>(), indent in 0usize..9) {
        // Insert a comment line at a line boundary that is not inside a string literal.
        let strings = recode_python::string_ranges(&c);
        let boundaries: Vec<usize> = std::iter::once(0)
            .chain(c.match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&b| !strings.iter().any(|r| r.start < b && b < r.end))
            .collect();
        let b = boundaries[at.index(boundaries.len())];
        let commented = format!("{}{}# it's \"quoted\" 'and' odd\n{}", &c[..b], " ".repeat(indent), &c[b..]);
        prop_assert_eq!(normalize(&commented, Mode::Fixed), normalize(&c, Mode::Fixed));
        prop_assert_eq!(score(&completion_around(&commented), &c, Mode::Fixed), score(&completion_around(&c), &c, Mode::Fixed));
    }

    #[test]
    fn fixed_normalisation_is_idempotent(c in code()) {
        let once = normalize(&c, Mode::Fixed);
        prop_assert_eq!(normalize(&once, Mode::Fixed), once);
    }
}
