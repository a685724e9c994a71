#!/usr/bin/env python3
"""Independent Python oracle of ReCode's reward semantics (spec section 4).

Written from /work/shared/spec/recode.md section 4 and the brief, stdlib only
(`re`, `ast`, `tokenize`).  Two modes:

* ``parity`` -- the reference implementation's behaviour, quirks included.
* ``fixed``  -- recode's own definition (tokenize-based normalisation).

CLI::

    python3 python/oracle/reward_oracle.py --mode parity|fixed [--lev full|fast] \
        < cases.jsonl > expected.jsonl

Each input line is ``{"id", "completion", "target", ...}`` (other keys ignored);
each output line is::

    {"id", "format", "em_star", "es_star", "total",
     "raises": null | "ZeroDivisionError" | "TooDeeplyNested",
     "norm_completion": str | null, "norm_target": str | null,
     "fixed_untokenizable": bool}

Decisions (where the spec leaves room), all documented here:

* ``raises`` records where the *reference* raises.  ZeroDivisionError: both
  normalised strings empty (parity only); recode's value is ES = 1, ES* = 2.0,
  EM* = 2.0 (the strings are equal).  TooDeeplyNested: ``ast.parse`` of the
  completion's normalised code raised MemoryError or RecursionError; recode's
  value is "does not parse" (EM* = ES* = -2.0).  The syntax check is
  ``ast.parse`` in both modes, so TooDeeplyNested is also reported in fixed mode.
* Only the completion's code is syntax-checked, never the target.
* Fixed mode: if ``tokenize`` raises on the completion's code (EOF in a
  multi-line string/statement, inconsistent dedent), the code counts as not
  parsing (-2.0) and ``fixed_untokenizable`` is true, ``norm_completion`` null.
  If the target does not tokenize, it is normalised by the same line steps
  with no comment removal and every line treated as outside any string
  (``fixed_untokenizable`` true as well).  gen_cases.py never produces such
  targets.
* Fixed mode extraction does not ``strip()`` the extracted code (the
  normalisation removes blank edge lines and dedents; stripping would bring
  back the "fully indented block" quirk).
* The Levenshtein distance is computed by the plain full-table DP
  (``--lev full``, the reference's cost) or, by default, by an exact
  bit-parallel algorithm (Myers/Hyyro) after trimming the common prefix and
  suffix; both give the same integer (checked in test_oracle.py).
"""

import argparse
import ast
import io
import json
import re
import sys
import tokenize

# --------------------------------------------------------------------------
# 4.1 format

FORMAT_RE = re.compile(
    r"^<think>([^<]*(?:<(?!/?think>)[^<]*)*)<\/think>\s*<answer>([\s\S]*?)<\/answer>\s*$",
    re.DOTALL,
)


def format_reward(completion):
    return 1.0 if FORMAT_RE.search("<think>" + completion) else -1.0


# --------------------------------------------------------------------------
# 4.2 extraction

FENCE_RE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)


def extract_parity(completion):
    m = FENCE_RE.search(completion)
    if m is None:
        return None
    return m.group(1).strip()


def extract_fixed(completion):
    text = completion.replace("\r\n", "\n")
    idx = text.find("</think>")
    if idx >= 0:
        text = text[idx + len("</think>"):]
    m = FENCE_RE.search(text)
    if m is None:
        return None
    return m.group(1)


# --------------------------------------------------------------------------
# 4.3 normalisation, parity

STRING_RE = re.compile(r"('''(.*?)'''|\"\"\"(.*?)\"\"\"|'(.*?)'|\"(.*?)\")", re.DOTALL)
COMMENT_RE = re.compile(r"#.*?$|\"\"\"(.*?)\"\"\"|'''(.*?)'''", re.MULTILINE | re.DOTALL)


def normalize_parity(code):
    strings = {}

    def hide(m):
        placeholder = "STRING_PLACEHOLDER_%d" % len(strings)
        strings[placeholder] = m.group(0)
        return placeholder

    code = STRING_RE.sub(hide, code)
    code = COMMENT_RE.sub("", code)
    for placeholder, original in strings.items():
        code = code.replace(placeholder, original)
    code = re.sub(r"\n\s*\n", "\n", code)
    code = re.sub(r"^\s*$\n", "", code.strip(), flags=re.MULTILINE)
    return code


# --------------------------------------------------------------------------
# 4.3 normalisation, fixed (recode's definition)

class Untokenizable(Exception):
    pass


def _dedent_prefix(a, b):
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return a[:n]


def _leading_blanks(line):
    n = 0
    while n < len(line) and line[n] in " \t":
        n += 1
    return line[:n]


def _line_steps(text, in_string):
    """text: comment-free code; in_string[i]: is text[i] inside a STRING token."""
    lines = []  # (content, starts_in_string, newline_in_string)
    start = 0
    starts_in = False
    while True:
        nl = text.find("\n", start)
        if nl < 0:
            lines.append((text[start:], starts_in, False))
            break
        nl_in = in_string[nl]
        lines.append((text[start:nl], starts_in, nl_in))
        starts_in = nl_in
        start = nl + 1
    kept = []
    for content, starts_in, nl_in in lines:
        if not nl_in:
            # newline outside any string: trailing white space goes -- the
            # tokenizer's white space (space, tab, form feed), not str.isspace:
            # other spaces are not white space in code, and trimming them
            # would turn code CPython rejects into code that parses.
            end = len(content)
            while end > 0 and content[end - 1] in " \t\f":
                end -= 1
            # ...but never white space that lies inside a string (a line that
            # starts inside a string and whose string closes on it ends with the
            # closing quote, so this cannot cut into a literal).
            content = content[:end]
            if content == "" and not starts_in:
                continue
        kept.append((content, starts_in))
    margin = None
    for content, starts_in in kept:
        if starts_in:
            continue
        indent = _leading_blanks(content)
        margin = indent if margin is None else _dedent_prefix(margin, indent)
    if margin:
        kept = [(c if s else c[len(margin):], s) for c, s in kept]
    return "\n".join(c for c, _ in kept)


def normalize_fixed(code, strict=True):
    """Returns the normalised code; raises Untokenizable when tokenize fails and strict."""
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    # absolute offsets of the start of every physical line
    line_starts = [0]
    for i, ch in enumerate(code):
        if ch == "\n":
            line_starts.append(i + 1)

    def off(pos):
        row, col = pos
        return line_starts[row - 1] + col

    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError) as e:  # IndentationError is a SyntaxError
        if strict:
            raise Untokenizable(str(e))
        return _line_steps(code, [False] * len(code))
    in_string = [False] * len(code)
    drop = [False] * len(code)
    for tok in toks:
        if tok.type == tokenize.STRING:
            a, b = off(tok.start), off(tok.end)
            for i in range(a, b):
                in_string[i] = True
        elif tok.type == tokenize.COMMENT:
            a, b = off(tok.start), off(tok.end)
            for i in range(a, b):
                drop[i] = True
    out = []
    flags = []
    for i, ch in enumerate(code):
        if not drop[i]:
            out.append(ch)
            flags.append(in_string[i])
    return _line_steps("".join(out), flags)


# --------------------------------------------------------------------------
# 4.4 syntax check

def parses(code):
    """(parses: bool, too_deep: bool)."""
    try:
        ast.parse(code)
        return True, False
    except SyntaxError:
        return False, False
    except (MemoryError, RecursionError):
        return False, True


# --------------------------------------------------------------------------
# Levenshtein

def lev_full(a, b):
    """The plain O(m*n) DP with a full (m+1)x(n+1) table, as the reference."""
    m, n = len(a), len(b)
    d = [[0] * (n + 1) for _ in range(m + 1)]
    for i in range(m + 1):
        d[i][0] = i
    for j in range(n + 1):
        d[0][j] = j
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
    return d[m][n]


def lev_fast(a, b):
    """Exact edit distance: common prefix/suffix trimmed, then Myers/Hyyro bit-parallel."""
    if a == b:
        return 0
    p = 0
    lim = min(len(a), len(b))
    while p < lim and a[p] == b[p]:
        p += 1
    a, b = a[p:], b[p:]
    s = 0
    lim = min(len(a), len(b))
    while s < lim and a[-1 - s] == b[-1 - s]:
        s += 1
    if s:
        a, b = a[:-s], b[:-s]
    if not a:
        return len(b)
    if not b:
        return len(a)
    m = len(a)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    peq = {}
    for i, ch in enumerate(a):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    pv, mv, score = full, 0, m
    for ch in b:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


# --------------------------------------------------------------------------
# scoring

def score(completion, target, mode, lev=lev_fast):
    fmt = format_reward(completion)
    raises = None
    untok = False
    norm_c = None
    if mode == "parity":
        code = extract_parity(completion)
        norm_t = normalize_parity(target)
        if code is not None:
            norm_c = normalize_parity(code)
    else:
        code = extract_fixed(completion)
        try:
            norm_t = normalize_fixed(target)
        except Untokenizable:
            untok = True
            norm_t = normalize_fixed(target, strict=False)
        if code is not None:
            try:
                norm_c = normalize_fixed(code)
            except Untokenizable:
                untok = True
                norm_c = None
    ok = False
    if norm_c is not None:
        ok, deep = parses(norm_c)
        if deep:
            raises = "TooDeeplyNested"
    if not ok:
        em, es_star = -2.0, -2.0
    else:
        em = 2.0 if norm_c == norm_t else -1.5
        longest = max(len(norm_c), len(norm_t))
        if longest == 0:
            if mode == "parity":
                raises = "ZeroDivisionError"
            es = 1.0
        else:
            es = 1 - lev(norm_c, norm_t) / longest
        es_star = es * 3.5 - 1.5
    return {
        "format": fmt,
        "em_star": em,
        "es_star": es_star,
        "total": fmt + es_star,
        "raises": raises,
        "norm_completion": norm_c,
        "norm_target": norm_t,
        "fixed_untokenizable": untok,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["parity", "fixed"], required=True)
    ap.add_argument("--lev", choices=["fast", "full"], default="fast")
    args = ap.parse_args(argv)
    lev = lev_fast if args.lev == "fast" else lev_full
    sys.setrecursionlimit(1000)  # the default; ast.parse depth limits depend on it
    inp = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="\n")
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    for line in inp:
        if not line.strip():
            continue
        case = json.loads(line)
        res = score(case["completion"], case["target"], args.mode, lev)
        rec = {"id": case["id"]}
        rec.update(res)
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
