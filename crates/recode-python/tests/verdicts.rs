//! Verdicts on the cases the spec names, plus inputs that must not crash.

use recode_python::{Verdict, check_module, parses_as_module};

#[test]
fn plain_valid_and_invalid() {
    assert_eq!(check_module("def f(x):\n    return x + 1\n"), Verdict::Valid);
    assert_eq!(check_module("print x\n"), Verdict::Invalid);
    assert_eq!(check_module(""), Verdict::Valid);
    assert!(parses_as_module("x = [i async for i in y]\n"));
    assert!(!parses_as_module("x = (\n"));
    // Ruff accepts a bare `yield` as an operand; CPython wants parentheses.
    assert!(!parses_as_module("yield , a, b\n"));
    assert!(!parses_as_module("yield  | x\n"));
    assert!(parses_as_module("def f():\n    x = (yield) | y, (yield)\n"));
}

#[test]
fn compiler_only_errors_are_valid_for_ast_parse() {
    for src in ["return 1\n", "nonlocal x\n", "await x\n", "yield 1\n", "break\n", "def f(a, a): pass\n"] {
        assert_eq!(check_module(src), Verdict::Valid, "{src:?}");
    }
}

#[test]
fn newer_than_311_syntax_is_invalid() {
    for src in [
        "type X = int\n",
        "def f[T](x: T): pass\n",
        "class C[T]: pass\n",
        "x = f\"{d[\"k\"]}\"\n",
        "x = f'{f'{1}'}'\n",
        "try:\n    pass\nexcept A, B:\n    pass\n",
        "x = t'{a}'\n",
    ] {
        assert_eq!(check_module(src), Verdict::Invalid, "{src:?}");
    }
    assert_eq!(check_module("x = f'{d[\"k\"]}'\n"), Verdict::Valid);
}

#[test]
fn tokenizer_limits_match_cpython() {
    let parens = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
    assert_eq!(check_module(&parens(200)), Verdict::Valid);
    assert_eq!(check_module(&parens(201)), Verdict::Invalid);
    assert_eq!(check_module("x = 'a'\0\n"), Verdict::Invalid);
    assert_eq!(check_module("\u{feff}x = 1\n"), Verdict::Invalid);
    assert_eq!(check_module("if x:\n\tpass\n        pass\n"), Verdict::Invalid); // TabError
    assert_eq!(check_module("x = 1 \\"), Verdict::Invalid);
    assert_eq!(check_module("_\u{200c} = 1\n"), Verdict::Invalid); // XID only from Unicode 15.1
    assert_eq!(check_module("naïve = 1\n"), Verdict::Valid);
}

#[test]
fn deep_nesting_is_too_complex_not_a_crash() {
    assert_eq!(check_module(&format!("{}1", "-".repeat(100_000))), Verdict::TooComplex);
    assert_eq!(check_module(&format!("{}x", "not ".repeat(5_000))), Verdict::TooComplex);
    assert_eq!(check_module(&format!("{}1", "-".repeat(2_000))), Verdict::Valid);
    assert_eq!(check_module(&format!("x = 1{}\n", " + 1".repeat(4_000))), Verdict::TooComplex);
    assert_eq!(check_module(&format!("a{}\n", ".b".repeat(200_000))), Verdict::TooComplex);
}

#[test]
fn odd_inputs_never_panic() {
    let big = "x = [".to_string() + &"1, ".repeat(50_000) + "]\n";
    assert_eq!(check_module(&big), Verdict::Valid);
    for src in [
        "\0",
        "\u{10ffff}",
        "\\",
        "'''",
        "f'{",
        "\r",
        "\t\t\tx",
        "\u{feff}",
        "\u{2028}",
        "😀 = 1",
        "match x:\n case {**_}: pass",
        "@\n",
        "lambda: (yield)",
        "#\\\n",
    ] {
        let _ = check_module(src);
        let _ = parses_as_module(src);
    }
    // Run on a small thread stack: deep inputs must not rely on the main thread's 8 MiB.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            assert_eq!(check_module(&format!("{}1", "~".repeat(50_000))), Verdict::TooComplex);
            let elifs = format!("if a:\n    pass\n{}", "elif b:\n    pass\n".repeat(3_500));
            assert_eq!(check_module(&elifs), Verdict::TooComplex);
        })
        .unwrap()
        .join()
        .unwrap();
}
