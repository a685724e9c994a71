#!/usr/bin/env python3
"""Hand-checked tests of reward_oracle.py.

Expected values are derived by hand from spec section 4 (the derivation is in
the comments), not pasted from the oracle's output.

    python3 -m unittest python/oracle/test_oracle.py      (from the repo root)
    python3 python/oracle/test_oracle.py
"""

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reward_oracle as ro  # noqa: E402


def ans(code, reason="r"):
    """A well-formed completion holding one python block."""
    return f"{reason}</think>\n<answer>\n```python\n{code}\n```\n</answer>"


class Format(unittest.TestCase):
    def test_basic(self):
        self.assertEqual(ro.format_reward("reason</think><answer>x</answer>"), 1.0)

    def test_starts_with_think(self):
        # "<think><think>r..." -- the think group cannot consume "<think>".
        self.assertEqual(ro.format_reward("<think>r</think><answer>x</answer>"), -1.0)

    def test_second_close_think(self):
        # group 1 stops before the first "</think>", then "b" is not <answer>.
        self.assertEqual(ro.format_reward("a</think>b</think><answer>x</answer>"), -1.0)

    def test_after_answer(self):
        self.assertEqual(ro.format_reward("r</think><answer>x</answer>\nThanks"), -1.0)
        self.assertEqual(ro.format_reward("r</think><answer>x</answer>  \n\t"), 1.0)
        # Python's \s includes U+001C (and U+3000).
        self.assertEqual(ro.format_reward("r</think><answer>x</answer>\x1c\u3000"), 1.0)

    def test_several_answers(self):
        # the lazy group extends over "</answer><answer>b".
        self.assertEqual(ro.format_reward("r</think><answer>a</answer><answer>b</answer>"), 1.0)

    def test_tag_lookalikes(self):
        # "<thinker>" and "<think/>" are not "<think>" / "</think>": allowed.
        self.assertEqual(ro.format_reward("a<thinker>b<think/>c</think><answer>x</answer>"), 1.0)
        self.assertEqual(ro.format_reward("a<think>b</think><answer>x</answer>"), -1.0)


class Parity(unittest.TestCase):
    def s(self, completion, target):
        return ro.score(completion, target, "parity")

    def test_crlf(self):
        # format +1 (\s covers \r\n) but "```python\r\n" has no fence match.
        c = "r</think>\r\n<answer>\r\n```python\r\nx = 1\r\n```\r\n</answer>"
        res = self.s(c, "x = 1")
        self.assertEqual((res["format"], res["em_star"], res["es_star"], res["total"]), (1.0, -2.0, -2.0, -1.0))
        res = ro.score(c, "x = 1", "fixed")
        self.assertEqual((res["format"], res["em_star"], res["es_star"], res["total"]), (1.0, 2.0, 2.0, 3.0))

    def test_fence_without_newline(self):
        res = self.s("r</think><answer>```python\nx = 1```</answer>", "x = 1")
        self.assertEqual((res["format"], res["em_star"], res["es_star"]), (1.0, -2.0, -2.0))

    def test_block_in_think(self):
        c = "```python\nold()\n```</think><answer>```python\nnew()\n```</answer>"
        res = self.s(c, "new()")
        # "old()" vs "new()": 3 substitutions over 5 code points.
        self.assertEqual(res["format"], 1.0)
        self.assertEqual(res["em_star"], -1.5)
        self.assertEqual(res["es_star"], (1 - 3 / 5) * 3.5 - 1.5)
        res = ro.score(c, "new()", "fixed")  # fixed looks after </think> only
        self.assertEqual((res["em_star"], res["es_star"]), (2.0, 2.0))

    def test_docstring_kept(self):
        self.assertEqual(ro.normalize_parity('"""Doc."""\nx = 1'), '"""Doc."""\nx = 1')

    def test_ws_before_comment(self):
        self.assertEqual(ro.normalize_parity("x = 1  # c\ny = 2"), "x = 1  \ny = 2")
        res = self.s(ans("x = 1  # c\ny = 2"), "x = 1\ny = 2")
        # 13 vs 11 code points, 2 deletions.
        self.assertEqual(res["em_star"], -1.5)
        self.assertEqual(res["es_star"], (1 - 2 / 13) * 3.5 - 1.5)

    def test_apostrophe_in_comment(self):
        # "'t\ny = 2\nz = '" becomes a "string", the comment then eats it.
        code = "x = 1  # don't\ny = 2\nz = 'a'"
        self.assertEqual(ro.normalize_parity(code), "x = 1")
        res = self.s(ans(code), "x = 1\ny = 2\nz = 'a'")
        self.assertEqual(res["em_star"], -1.5)
        self.assertEqual(res["es_star"], (1 - 14 / 19) * 3.5 - 1.5)
        res = ro.score(ans(code), "x = 1\ny = 2\nz = 'a'", "fixed")
        self.assertEqual(res["em_star"], 2.0)

    def test_eleven_literals(self):
        code = "x = [" + ", ".join("'%s'" % ch for ch in "abcdefghijk") + "]"
        # placeholder 1 also rewrites placeholder 10 -> "'b'0".
        want = "x = [" + ", ".join("'%s'" % ch for ch in "abcdefghij") + ", 'b'0]"
        self.assertEqual(ro.normalize_parity(code), want)
        res = self.s(ans(code), code)
        self.assertEqual((res["em_star"], res["es_star"]), (-2.0, -2.0))
        res = ro.score(ans(code), code, "fixed")
        self.assertEqual((res["em_star"], res["es_star"]), (2.0, 2.0))

    def test_ten_literals_fine(self):
        code = "x = [" + ", ".join("'%s'" % ch for ch in "abcdefghij") + "]"
        self.assertEqual(ro.normalize_parity(code), code)

    def test_escaped_quote_hash(self):
        code = 'msg = "say \\"#hi\\""'
        # "say \" is a string, '#hi\' + the "" string become a comment.
        self.assertEqual(ro.normalize_parity(code), 'msg = "say \\"')
        res = self.s(ans(code), code)
        self.assertEqual((res["em_star"], res["es_star"]), (-2.0, -2.0))

    def test_blank_lines_in_triple_quotes(self):
        self.assertEqual(ro.normalize_parity('S = """a\n\n\nb"""\nx = 1'), 'S = """a\nb"""\nx = 1')

    def test_python_whitespace(self):
        self.assertEqual(ro.normalize_parity("x = 1\n\x1c\ny = 2"), "x = 1\ny = 2")
        self.assertEqual(ro.normalize_parity("\x1fx = 1\x1e"), "x = 1")

    def test_indented_block(self):
        c = ans("    x = 1\n    y = 2")
        res = self.s(c, "x = 1\ny = 2")  # strip() leaves "x = 1\n    y = 2"
        self.assertEqual((res["em_star"], res["es_star"]), (-2.0, -2.0))
        res = ro.score(c, "x = 1\ny = 2", "fixed")
        self.assertEqual((res["em_star"], res["es_star"]), (2.0, 2.0))

    def test_zero_division(self):
        res = self.s(ans("# only a comment"), "")
        self.assertEqual((res["format"], res["em_star"], res["es_star"], res["total"], res["raises"]),
                         (1.0, 2.0, 2.0, 3.0, "ZeroDivisionError"))
        res = ro.score(ans("# only a comment"), "", "fixed")
        self.assertEqual((res["em_star"], res["es_star"], res["raises"]), (2.0, 2.0, None))

    def test_empty_code_vs_nonempty_target(self):
        res = self.s(ans("# c"), "x = 1")  # ES = 1 - 5/5 = 0
        self.assertEqual((res["em_star"], res["es_star"]), (-1.5, -1.5))

    def test_too_deep(self):
        res = self.s(ans("-" * 100000 + "1"), "x = 1")
        self.assertEqual((res["em_star"], res["es_star"], res["raises"]), (-2.0, -2.0, "TooDeeplyNested"))
        res = self.s(ans("not " * 5000 + "x"), "x = 1")
        self.assertEqual(res["raises"], "TooDeeplyNested")

    def test_return_outside_function_parses(self):
        res = self.s(ans("return 1"), "return 1")
        self.assertEqual((res["em_star"], res["es_star"]), (2.0, 2.0))

    def test_python2_print(self):
        res = self.s(ans('print "hi"'), 'print("hi")')
        self.assertEqual((res["em_star"], res["es_star"]), (-2.0, -2.0))

    def test_nul_byte(self):
        res = self.s(ans("x = 1\x00"), "x = 1")
        self.assertEqual((res["em_star"], res["es_star"]), (-2.0, -2.0))

    def test_empty_completion(self):
        res = self.s("", "x = 1")
        self.assertEqual((res["format"], res["em_star"], res["es_star"], res["total"]), (-1.0, -2.0, -2.0, -3.0))

    def test_es_value(self):
        res = self.s(ans("x = 10"), "x = 1")
        self.assertEqual(res["es_star"], (1 - 1 / 6) * 3.5 - 1.5)
        self.assertEqual(res["total"], 1.0 + (1 - 1 / 6) * 3.5 - 1.5)

    def test_code_points(self):
        res = self.s(ans("s = '\U0001F600'"), "s = 'a'")  # one code point substituted of 7
        self.assertEqual(res["es_star"], (1 - 1 / 7) * 3.5 - 1.5)


class Fixed(unittest.TestCase):
    def test_comment_and_trailing_ws(self):
        self.assertEqual(ro.normalize_fixed("x = 1  # don't\n\n   \ny = 2\t\n"), "x = 1\ny = 2")

    def test_hash_in_string_kept(self):
        self.assertEqual(ro.normalize_fixed("u = 'a#b'  # c"), "u = 'a#b'")

    def test_string_lines_untouched(self):
        code = 'S = """a   \n  \n\tb  """   \nx = 1'
        self.assertEqual(ro.normalize_fixed(code), 'S = """a   \n  \n\tb  """\nx = 1')

    def test_dedent_skips_string_lines(self):
        code = "    def f():\n        s = '''\n  x\n'''\n        return s"
        self.assertEqual(ro.normalize_fixed(code), "def f():\n    s = '''\n  x\n'''\n    return s")

    def test_lone_cr(self):
        self.assertEqual(ro.normalize_fixed("x = 1\ry = 2\r\n"), "x = 1\ny = 2")

    def test_untokenizable(self):
        res = ro.score(ans('s = """abc'), "x = 1", "fixed")
        self.assertEqual((res["em_star"], res["es_star"], res["fixed_untokenizable"]), (-2.0, -2.0, True))

    def test_block_only_in_think(self):
        res = ro.score("```python\nx = 1\n```</think><answer>done</answer>", "x = 1", "fixed")
        self.assertEqual((res["format"], res["em_star"], res["es_star"]), (1.0, -2.0, -2.0))
        res = ro.score("```python\nx = 1\n```</think><answer>done</answer>", "x = 1", "parity")
        self.assertEqual((res["em_star"], res["es_star"]), (2.0, 2.0))


class Levenshtein(unittest.TestCase):
    def test_known(self):
        self.assertEqual(ro.lev_full("kitten", "sitting"), 3)
        self.assertEqual(ro.lev_fast("kitten", "sitting"), 3)
        self.assertEqual(ro.lev_full("", "abc"), 3)
        self.assertEqual(ro.lev_fast("flaw", "lawn"), 2)

    def test_fast_equals_full(self):
        r = random.Random(3)
        for _ in range(2000):
            alpha = r.choice(["ab", "abc\n ", "xyz\U0001F600"])
            a = "".join(r.choice(alpha) for _ in range(r.randint(0, 40)))
            b = "".join(r.choice(alpha) for _ in range(r.randint(0, 40)))
            self.assertEqual(ro.lev_fast(a, b), ro.lev_full(a, b), (a, b))
        for _ in range(30):
            a = "".join(r.choice("abcdefgh \n") for _ in range(r.randint(60, 300)))
            b = "".join(r.choice("abcdefgh \n") for _ in range(r.randint(60, 300)))
            self.assertEqual(ro.lev_fast(a, b), ro.lev_full(a, b))


if __name__ == "__main__":
    unittest.main()
