#!/usr/bin/env python3
"""Agreement corpus for recode-python's syntax verdict.

Emits JSON lines {"id", "source", "kind", "valid", "error"} where `valid` and
`error` come from CPython 3.11 `ast.parse` run right here, so the labels are
ground truth for whatever interpreter runs this script (the Rust test insists
on 3.11). Sources are real standard-library code plus targeted mutations.
Deterministic for a given --seed/--n and interpreter build.
"""
import argparse
import ast
import io
import json
import os
import random
import sys
import sysconfig
import textwrap
import tokenize
import warnings

MAX_FILES = 160
MAX_LINES = 40


def label(source):
    """CPython's verdict: (valid, error type name or None)."""
    try:
        ast.parse(source)
        return True, None
    except SyntaxError as e:  # includes IndentationError / TabError
        return False, type(e).__name__
    except (MemoryError, RecursionError):
        return False, "too_complex"
    except ValueError as e:  # e.g. NUL bytes on older builds
        return False, type(e).__name__


def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__", "idlelib", "turtledemo"))
        for f in sorted(filenames):
            if f.endswith(".py"):
                out.append(os.path.join(dirpath, f))
    out.sort()
    return out


def load_snippets(rng):
    files = stdlib_files()
    rng.shuffle(files)
    snippets = []
    for path in files[: MAX_FILES * 2]:
        if len({s[0] for s in snippets}) >= MAX_FILES:
            break
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError, MemoryError, RecursionError):
            continue
        lines = text.splitlines(keepends=True)
        nodes = []
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt):
                nodes.append(node)
        for node in nodes:
            start = node.lineno
            if getattr(node, "decorator_list", None):
                start = min(d.lineno for d in node.decorator_list)
            end = node.end_lineno
            if end - start + 1 > MAX_LINES:
                continue
            seg = textwrap.dedent("".join(lines[start - 1 : end]))
            if seg.strip():
                snippets.append((path, seg))
    return snippets


# ---------------------------------------------------------------- helpers

NAMES = ["x", "y", "data", "result", "value", "item", "ключ", "naïve", "数据", "ｆｕｌｌ", "_tmp", "self", "obj"]


def name(rng):
    return rng.choice(NAMES)


def tokens_of(src):
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    line_starts = [0]
    for line in src.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    out = []
    for t in toks:
        if t.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER, tokenize.COMMENT):
            continue
        s = line_starts[t.start[0] - 1] + t.start[1]
        e = line_starts[t.end[0] - 1] + t.end[1]
        out.append((s, e))
    return out


def tok_mutation(rng, src, how):
    toks = tokens_of(src)
    if not toks or len(toks) < 3:
        return src + " +"
    i = rng.randrange(len(toks) - 1)
    s, e = toks[i]
    if how == "delete_token":
        return src[:s] + src[e:]
    if how == "duplicate_token":
        return src[:e] + " " + src[s:e] + src[e:]
    s2, e2 = toks[i + 1]
    return src[:s] + src[s2:e2] + src[e:s2] + src[s:e] + src[e2:]


def line_mutation(rng, src, how):
    lines = src.splitlines(keepends=True)
    if not lines:
        return src
    i = rng.randrange(len(lines))
    line = lines[i]
    stripped = line.lstrip(" \t")
    indent = line[: len(line) - len(stripped)]
    if how == "bad_indent":
        r = rng.random()
        if r < 0.4:
            indent = indent + " " * rng.choice([1, 2, 3, 4])
        elif r < 0.8:
            indent = indent[: max(0, len(indent) - rng.choice([1, 2, 4]))]
        else:
            indent = ""
    elif how == "mixed_tabs":
        r = rng.random()
        if r < 0.4:
            indent = indent.replace("    ", "\t")
        elif r < 0.7:
            indent = indent.replace("        ", "\t", 1)
        elif r < 0.85:
            indent = "\t" + indent[4:] if indent.startswith("    ") else " \t" + indent
        else:
            lines = [ln.replace("    ", "\t") if rng.random() < 0.5 else ln for ln in lines]
            return "".join(lines)
    lines[i] = indent + stripped
    return "".join(lines)


# ---------------------------------------------------------------- templates

def t_py2_print(rng):
    n = name(rng)
    return rng.choice([
        f"print {n}\n",
        f"print '{n}'\n",
        f"print >>sys.stderr, {n}\n",
        f"if {n}:\n    print {n}, 1\n",
        f"print({n})\n",
        f"print\n",
        f"print ({n}), 2\n",
        f"print -{n}\n",
        f"print f(x)\n",
        f"print {n},\n",
    ])


def t_py2_exec(rng):
    return rng.choice([
        "exec 'x = 1'\n",
        "exec code in ns\n",
        "exec(code, ns)\n",
        "exec code\n",
        "def f():\n    exec 'pass' in {}\n",
        "exec = 3\n",
        "x = `y`\n",
        "if a <> b:\n    pass\n",
        "x = 0777\n",
        "x = 10L\n",
        "raise E, 'msg'\n",
        "try:\n    pass\nexcept E, e:\n    pass\n",
        "try:\n    pass\nexcept (E, F), e:\n    pass\n",
        "def f((a, b)):\n    pass\n",
        "lambda (x, y): x\n",
        "x = ur'abc'\n",
        "import foo.bar as baz\n",
        "from . import (a, b,)\n",
        "from __future__ import print_function\nprint 'x'\n",
    ])


def t_match(rng, broken):
    n = name(rng)
    cases = [
        "    case 1 | 2:\n        pass\n",
        "    case [a, *rest]:\n        pass\n",
        "    case {'k': v, **kw}:\n        pass\n",
        "    case Point(x=0, y=0):\n        pass\n",
        "    case str() as s if s:\n        pass\n",
        "    case -1.5 | 2+3j:\n        pass\n",
        "    case (a, b) | [a, b]:\n        pass\n",
        "    case None | True | False:\n        pass\n",
        "    case _:\n        pass\n",
        "    case a.b.c:\n        pass\n",
        "    case 'a' 'b':\n        pass\n",
        "    case f'x':\n        pass\n",
        "    case {**rest}:\n        pass\n",
    ]
    bad_cases = [
        "    case 1 +:\n        pass\n",
        "    case a | b:\n        pass\n",
        "    case *a, *b:\n        pass\n",
        "    case {**kw, 'k': v}:\n        pass\n",
        "    case x.y():\n        pass\n",
        "    case a + b:\n        pass\n",
        "    case 1 + 2:\n        pass\n",
        "    case _ | 1:\n        pass\n",
        "    case (a as b as c):\n        pass\n",
        "    case f(**{}):\n        pass\n",
        "    case -x:\n        pass\n",
        "    case {a: 1}:\n        pass\n",
        "    case:\n        pass\n",
        "    case 1\n        pass\n",
        "case 1:\n    pass\n",
        "    case a, b if :\n        pass\n",
        "    case [1, 2 as]:\n        pass\n",
        "    case {'k': _, 'k': _}:\n        pass\n",
        "    case x as _:\n        pass\n",
        "    case a | a:\n        pass\n",
        "    case Point(x=1, 2):\n        pass\n",
        "    case 1j + 2:\n        pass\n",
    ]
    subject = rng.choice([n, f"{n}, 1", f"*{n}, 1", f"({n})", f"{n}.attr", f"f({n})", "match"])
    body = "".join(rng.sample(cases, rng.randint(1, 3)))
    if broken:
        body = body + rng.choice(bad_cases)
        if rng.random() < 0.2:
            return f"match {subject}\n" + body
    return f"match {subject}:\n" + body


def t_match_soft(rng):
    return rng.choice([
        "match = 1\n", "match(x)\n", "match[x] = 3\n", "case = 2\n", "match.x = 1\n",
        "_ = 1\n", "match x:\n    pass\n", "match x y:\n    case 1: pass\n",
        "print(match, case)\n", "match *a:\n    case _: pass\n", "match -x:\n    case _: pass\n",
        "def match(): pass\n", "type = 5\n", "type(x)\n",
    ])


def t_walrus(rng):
    n = name(rng)
    return rng.choice([
        f"if ({n} := f()) is not None:\n    pass\n",
        f"while chunk := read():\n    pass\n",
        f"[y := 1, y ** 2]\n",
        f"x = ({n} := 5)\n",
        f"x = {n} := 5\n",
        f"{n} := 5\n",
        f"f(a := 1)\n",
        f"f(a=b := 1)\n",
        f"[z for z in range(3) if (w := z)]\n",
        f"[(z := 1) for z in range(3)]\n",
        f"(a.b := 1)\n",
        f"(a[0] := 1)\n",
        f"x[y := 1]\n",
        f"x[y := 1:2]\n",
        f"{{a := 1, 2}}\n",
        f"def f(a=(b := 2)): pass\n",
        f"lambda: (x := 1)\n",
        f"lambda: x := 1\n",
        f"print(f'{{(x:=10)}}')\n",
        f"with (a := b):\n    pass\n",
        f"assert (x := 1)\n",
        f"(x := 1, y := 2)\n",
        f"x, y := 1, 2\n",
        f"del (x := 1)\n",
    ])


def t_fstring(rng, new):
    n = name(rng)
    ok = [
        f"f'{{{n}}}'\n",
        f"f'{{{n}!r:>10}}'\n",
        f"f\"{{{n}['k']}}\"\n",
        f"f'{{{n}:{{width}}.{{prec}}}}'\n",
        f"f'{{{n}=}}'\n",
        f"f'''{{\n{n}\n}}'''\n",
        f"rf'\\d{{{n}}}'\n",
        f"f'{{{{literal}}}} # not a comment'\n",
        f"f'{{{n} # comment\n}}'\n",
        f"f'{{ {n} }}' 'plain' f\"{{1}}\"\n",
        f"f'{{lambda x: x}}'\n",
        f"f'{{(lambda x: x)(1)}}'\n",
        f"f'{{}}'\n",
        f"f'{{!r}}'\n",
        f"f'{{{n}!z}}'\n",
        f"f'{{{n}'\n",
        f"f'}}'\n",
        f"f'{{a:{{b:{{c}}}}}}'\n",
        f"f'{{yield}}'\n",
        f"f'{{*a}}'\n",
        f"f'{{*a, b}}'\n",
        f"f'{{x:=1}}'\n",
        f"f'{{\"nested\"}}'\n",
        f"f\"{{'nested'}}\"\n",
        f"f'''{{\"a\" + 'b'}}'''\n",
        f"f'{{{n}!r=}}'\n",
        f"f'{{{n} = }}'\n",
        f"F'{{1:{{2}}}}' fR'{{3}}'\n",
        f"f'{{a!r:{{b}}}}'\n",
        f"f'{{\\n}}'\n",
        f"f'\\{{{n}}}'\n",
    ]
    pep701 = [
        f"f'{{{n}['k']}}'\n",
        f"f\"{{\"nested\"}}\"\n",
        f"f'{{f'{{{n}}}'}}'\n",
        f"f'{{'\\n'.join(x)}}'\n",
        f"f'{{x!r:{{'>10'}}}}'\n",
        f"f'''{{'''a'''}}'''\n",
        f"f'{{x # c}}'\n",
        f"f'{{\"\\t\"}}'\n",
        f"f\"{{d[\"k\"]}}\"\n",
        f"f'{{\n{n}}}'\n",
        f"f'{{f\"{{f'{{1}}'}}\"}}'\n",
        f"f'{{'a' if x else 'b'}}'\n",
    ]
    return rng.choice(pep701 if new else ok)


def t_async(rng):
    n = name(rng)
    return rng.choice([
        f"async def f():\n    await {n}\n",
        f"async def f():\n    async with a as b:\n        pass\n",
        f"async def f():\n    async for i in g():\n        yield i\n",
        f"async def f():\n    return [x async for x in g()]\n",
        f"await {n}\n",
        f"def f():\n    await {n}\n",
        f"async with a:\n    pass\n",
        f"async for i in x:\n    pass\n",
        f"def f():\n    return [x async for x in g()]\n",
        f"async def f():\n    await = 1\n",
        f"await = 1\n",
        f"async = 1\n",
        f"async def f():\n    x = await\n",
        f"async lambda: 1\n",
        f"async def f(): yield from x\n",
        f"async x = 1\n",
        f"async def f():\n    await await x\n",
        f"async def f():\n    return await -x\n",
        f"async def f():\n    return -await x\n",
        f"async def f():\n    return await x ** 2\n",
        f"async def f():\n    del await x\n",
        f"async def f():\n    (await x) = 1\n",
        f"async def f():\n    print(await x for x in y)\n",
    ])


def t_decorator(rng):
    return rng.choice([
        "@property\ndef f(self): pass\n",
        "@a.b.c\nclass C: pass\n",
        "@f(1)(2)\ndef g(): pass\n",
        "@buttons[0].clicked.connect\ndef h(): pass\n",
        "@(lambda f: f)\ndef g(): pass\n",
        "@x if y else z\ndef g(): pass\n",
        "@x := y\ndef g(): pass\n",
        "@\ndef g(): pass\n",
        "@f\n\ndef g(): pass\n",
        "@f\nx = 1\n",
        "@f\nasync def g(): pass\n",
        "@f @g\ndef h(): pass\n",
        "@a, b\ndef h(): pass\n",
        "@*a\ndef h(): pass\n",
        "@f\n@g\nclass C(A, metaclass=M, **kw): pass\n",
    ])


def t_unicode(rng):
    return rng.choice([
        "ключ = 'значение'\n",
        "数据 = [1, 2, 3]\n",
        "naïve = 1\n",
        "ｆｕｌｌ = 2\n",
        "x² = 1\n",
        "€ = 1\n",
        "a = 1 ⁄ 2\n",
        "x = '😀'\n",
        "x = \"日本語 # not comment\"\n",
        "s = 'tab\there'\n",
        "x = 1\u00a0+ 2\n",
        "x = 1\u3000\n",
        "def f(ñ): return ñ\n",
        "℘ = 1\n",
        "℮ = 1\n",
        "x = ‘quote’\n",
        "a\u200bb = 1\n",
        "x = 1 # коммент\n",
        "x = b'bytes'\n",
        "x = b'é'\n",
        "x = '\\N{BULLET}'\n",
        "x = '\\N{NOT A NAME}'\n",
        "x = b'\\N{BULLET}'\n",
        "x = '\\x1'\n",
        "x = '\\u12'\n",
        "x = b'\\u1234'\n",
        "x = '\\U00110000'\n",
        "x = '\\q'\n",
        "Σ = sum\n",
        "𝔘𝔫𝔦 = 1\n",
        "_\u0301 = 1\n",
        "\u0301x = 1\n",
        "x = 1\x0c\n",
        "\x0cx = 1\n",
        "if a:\n\x0c    x = 1\n",
        "x = 'a\x0bb'\n",
        "x = 1\x0b\n",
        "\ufeffx = 1\n",
        "x = 1\r\ny = 2\r\n",
        "x = 1\ry = 2\r",
        "if a:\r\n    x = 1\r\n",
    ])


def t_lambda(rng):
    return rng.choice([
        "f = lambda: 0\n",
        "f = lambda x, /, y=1, *a, z, **k: x\n",
        "f = lambda *, z: z\n",
        "f = lambda *: 0\n",
        "f = lambda x=1, y: x\n",
        "f = lambda x: (yield)\n",
        "f = lambda x: yield x\n",
        "f = lambda: lambda: 1\n",
        "f = lambda x: x if x else -x\n",
        "f = lambda (x): x\n",
        "f = lambda x, x: x\n",
        "f = lambda x,: x\n",
        "f = lambda **k, x: x\n",
        "f = lambda x: *x\n",
        "f = lambda: (x := 1)\n",
        "f = lambda x: x, 1\n",
        "f = lambda a=lambda: 1: a\n",
        "f = lambda /: 0\n",
        "f = lambda a, /, /: 0\n",
        "f = lambda a: a: b\n",
    ])


def t_star(rng):
    return rng.choice([
        "a, *b = c\n",
        "*a, = c\n",
        "*a = c\n",
        "[*a] = c\n",
        "a, *b, *c = d\n",
        "print(*a, *b, **c, **d)\n",
        "f(**a, *b)\n",
        "f(x for x in y, 1)\n",
        "f(1, x for x in y)\n",
        "f(x for x in y)\n",
        "x = *a, *b\n",
        "x = *a\n",
        "return *a, *b\n",
        "for x in *a, *b:\n    pass\n",
        "del *a\n",
        "del *a,\n",
        "x = [*a, *b]\n",
        "x = {**a, 'b': 1}\n",
        "x = {*a, **b}\n",
        "x[*a]\n",
        "x[*a] = 1\n",
        "x[1:*a]\n",
        "def f(*args: *Ts): pass\n",
        "def f(*, **k): pass\n",
        "def f(*): pass\n",
        "def f(a, *, b): pass\n",
        "def f(**k, *a): pass\n",
        "def f(a=1, b): pass\n",
        "def f(a, a): pass\n",
        "print(*)\n",
        "f(a=1, b)\n",
        "f(**k, a)\n",
        "f(a=1, *b)\n",
        "f(a=1, a=2)\n",
        "f(*a for a in b)\n",
        "[*a for a in b]\n",
        "{**a for a in b}\n",
        "yield *a, b\n",
        "with (*a): pass\n",
        "for *x in y: pass\n",
        "for *x, in y: pass\n",
    ])


def t_except_star(rng):
    return rng.choice([
        "try:\n    pass\nexcept* ValueError:\n    pass\n",
        "try:\n    pass\nexcept* (A, B) as eg:\n    pass\n",
        "try:\n    pass\nexcept *ValueError:\n    pass\n",
        "try:\n    pass\nexcept*:\n    pass\n",
        "try:\n    pass\nexcept* A:\n    pass\nexcept B:\n    pass\n",
        "try:\n    pass\nexcept* A:\n    pass\nelse:\n    pass\nfinally:\n    pass\n",
        "try:\n    pass\nexcept A, B:\n    pass\n",
        "try:\n    pass\nexcept* A, B:\n    pass\n",
        "try:\n    pass\nexcept (A, B):\n    pass\n",
        "try:\n    pass\nfinally:\n    pass\n",
        "try:\n    pass\n",
        "try:\n    pass\nelse:\n    pass\n",
        "try:\n    pass\nexcept:\n    pass\nexcept A:\n    pass\n",
        "try:\n    pass\nexcept A as e.f:\n    pass\n",
        "try:\n    pass\nexcept A as (e):\n    pass\n",
        "def f():\n    try:\n        pass\n    except* A:\n        return\n",
    ])


def t_type_params(rng):
    return rng.choice([
        "type X = int\n",
        "type X[T] = list[T]\n",
        "def f[T](x: T) -> T: pass\n",
        "class C[T]: pass\n",
        "class C[T: int, *Ts, **P]: pass\n",
        "def f[T = int](): pass\n",
        "type = 1\n",
        "type(x)\n",
        "x: type = 1\n",
        "class C(Generic[T]): pass\n",
        "def f(x: list[int]) -> dict[str, int]: pass\n",
        "x: int\n",
        "x: int = 1\n",
        "(x): int = 1\n",
        "x, y: int\n",
        "x.y: int\n",
        "x[0]: int = 1\n",
        "f(): int\n",
        "x: int, y: int = 1, 2\n",
        "x: *Ts\n",
        "x: yield = 1\n",
        "def f() -> *Ts: pass\n",
        "with (open(a) as f, open(b) as g):\n    pass\n",
        "with (a, b):\n    pass\n",
        "with (a as b, c as d,):\n    pass\n",
        "with a as (b, c):\n    pass\n",
        "with a as b.c, d as e[0]:\n    pass\n",
        "with a as f():\n    pass\n",
        "from lazy import x\n",
        "lazy import x\n",
        "x = t'hi {x}'\n",
        "try:\n    pass\nexcept A, B:\n    pass\n",
        "def f():\n    return x, *y\n",
        "for x in *a, b:\n    pass\n",
        "x = a[*b]\n",
        "global x, y\n",
        "nonlocal x\n",
        "def f():\n    nonlocal x\n",
        "return 1\n",
        "yield 1\n",
        "break\n",
        "continue\n",
        "class C:\n    return 1\n",
        "x = yield\n",
        "from __future__ import braces\n",
        "from __future__ import annotations\n",
        "from x import *\n",
        "def f():\n    from x import *\n",
        "import a.b as c.d\n",
        "from .. import x\n",
        "from ...a.b import (c as d, e)\n",
        "from x import (a, b\n",
        "from x import a, b,\n",
        "from x import ()\n",
        "import *\n",
        "__debug__ = 1\n",
        "def f(__debug__): pass\n",
        "None = 1\n",
        "True = 1\n",
        "f(True=1)\n",
        "x.None = 1\n",
        "x.True\n",
        "def None(): pass\n",
        "class True: pass\n",
        "import None\n",
        "del None\n",
        "del f()\n",
        "del x, y[0], z.a\n",
        "del (x, [y])\n",
        "del x + y\n",
        "f() = 1\n",
        "x + 1 = 2\n",
        "1 = x\n",
        "'a' = x\n",
        "x if y else z = 1\n",
        "[a, b] += 1\n",
        "a.b += 1\n",
        "f() += 1\n",
        "(a) += 1\n",
        "a, b += 1\n",
        "for f() in x: pass\n",
        "for 1 in x: pass\n",
        "[x for 1 in y]\n",
        "with a as 1: pass\n",
        "x = a if b\n",
        "x = a if b else\n",
        "x = (1 for y in z)\n",
        "x = [i for i in range(3) if i if i]\n",
        "x = [i for i in 1, 2]\n",
        "x = [i, j for i in a]\n",
        "x = {a: b for a, b in c}\n",
        "x = {a: *b for a in c}\n",
        "x = {**a: b}\n",
        "x = not\n",
        "x = a not b\n",
        "x = a is not not b\n",
        "x = a not in b\n",
        "x = 1 if 2 else 3 if 4 else 5\n",
        "x = [1, 2,, 3]\n",
        "x = (,)\n",
        "x = ()\n",
        "x = (1,)\n",
        "x = 1_000\n",
        "x = 1__000\n",
        "x = 1_\n",
        "x = 0x_1\n",
        "x = 0b102\n",
        "x = 0o8\n",
        "x = 09\n",
        "x = 00\n",
        "x = 1e\n",
        "x = 1.e5\n",
        "x = .5j\n",
        "x = 1if 1else 2\n",
        "x = 0x1for x in y\n",
        "x = [0x1for x in y]\n",
        "x = 1.__class__\n",
        "x = 1 .__class__\n",
        "x = 1..real\n",
        "x = 1__.real\n",
        "x = 5j.imag\n",
        "x = 0b1_0\n",
        "x = 1_000.000_1e1_0\n",
        "x = ...\n",
        "x = . . .\n",
        "x = a..b\n",
        "x = a.1\n",
        "pass; pass;\n",
        "pass;;\n",
        ";\n",
        "if x: pass; pass\n",
        "if x: if y: pass\n",
        "if x: pass\nelse: pass\nelse: pass\n",
        "if x:\npass\n",
        "if x:\n    pass\n  else:\n    pass\n",
        "while x:\n    break\nelse:\n    pass\n",
        "for x in y:\n    continue\nelse:\n    pass\n",
        "class C(): pass\n",
        "class C(x for x in y): pass\n",
        "class C(*a, **k): pass\n",
        "def f() -> int: pass\n",
        "def f(a: int = 1, *b: str, c: int, **d: float) -> None: pass\n",
        "def f(a, /, b): pass\n",
        "def f(/, a): pass\n",
        "def f(a, /, b, /): pass\n",
        "def f(*a, /): pass\n",
        "def f(a=1, /, b): pass\n",
        "def f(**k,): pass\n",
        "def f(*a,): pass\n",
        "def f(a,,b): pass\n",
        "def f(a b): pass\n",
        "def f: pass\n",
        "def f(): \n",
        "def f():\n",
        "def f():\n\n",
        "def f():\n    '''doc'''\n",
        "class C:\n",
        "x = (\n",
        "x = [1,\n 2,\n",
        "x = )\n",
        "x = (]\n",
        "x = {1: 2\n",
        "assert x, 'msg'\n",
        "assert (x, 'msg')\n",
        "assert\n",
        "raise\n",
        "raise E from F\n",
        "raise E from\n",
        "raise from F\n",
        "import\n",
        "import a,\n",
        "import (a)\n",
        "from x import\n",
        "from import x\n",
        "global\n",
        "x = a b\n",
        "x = a, b = c\n",
        "x += y += 1\n",
        "x = y = z\n",
        "x = yield from\n",
        "x: int = yield 1\n",
        "x = 'a' 'b' f'c' b'd'\n",
        "x = b'a' 'b'\n",
        "x = u'a' 'b'\n",
        "x = U'a'\n",
        "x = bu'a'\n",
        "x = Rb'a' bR'b' BR'c'\n",
        "x = fb'a'\n",
        "x = rb'\\'\n",
        "x = r'\\''\n",
        "x = r'\\'\n",
    ])


def t_deep(rng):
    kind = rng.choice(["paren", "list", "neg", "not", "add", "attr", "call", "ifexp", "indent", "lambda", "pow", "dict", "elif", "fcall", "tilde_paren"])
    # Keep well away from CPython's fuzzy limits (which depend on the caller's stack depth).
    if kind in ("paren", "list", "dict", "fcall"):
        n = rng.choice([rng.randint(1, 190), rng.randint(202, 260)])
    elif kind == "indent":
        n = rng.choice([rng.randint(1, 95), rng.randint(101, 130)])
    elif kind == "tilde_paren":
        n = rng.choice([rng.randint(1, 1700), rng.randint(1950, 2400)])
    else:
        n = rng.choice([rng.randint(1, 2900), rng.randint(3100, 5800), rng.randint(6200, 9000)])
    if kind == "paren":
        return "x = " + "(" * n + "1" + ")" * n + "\n"
    if kind == "list":
        return "x = " + "[" * n + "]" * n + "\n"
    if kind == "dict":
        return "x = " + "{1: " * n + "2" + "}" * n + "\n"
    if kind == "fcall":
        return "f(" * n + "1" + ")" * n + "\n"
    if kind == "neg":
        return "-" * n + "1\n"
    if kind == "not":
        return "not " * n + "x\n"
    if kind == "add":
        return "x = 1" + " + 1" * n + "\n"
    if kind == "attr":
        return "a" + ".b" * n + "\n"
    if kind == "call":
        return "f" + "()" * n + "\n"
    if kind == "ifexp":
        return "a if b else " * n + "c\n"
    if kind == "lambda":
        return "lambda: " * n + "0\n"
    if kind == "pow":
        return "2" + " ** 2" * n + "\n"
    if kind == "elif":
        return "if a:\n    pass\n" + "elif b:\n    pass\n" * n
    if kind == "tilde_paren":
        return "(" * 150 + "~" * n + "1" + ")" * 150 + "\n"
    return "".join(" " * i + "if a:\n" for i in range(n)) + " " * n + "pass\n"


def t_continuation(rng):
    return rng.choice([
        "x = 1 + \\\n    2\n",
        "x = 1 + \\\n",
        "x = 1 \\",
        "x = 1\\\n",
        "\\\n",
        "\\",
        "x = 1 \\ \n    + 2\n",
        "if a and \\\n   b:\n    pass\n",
        "x = 1\n\\\n",
        "x = [1,\n\n 2]\n",
        "x = '''a\\\nb'''\n",
        "x = 'a\\\nb'\n",
        "def f():\n    x = 1 \\\n\n",
        "x = 1 \\\n# c\n",
        "x = (1 \\\n)\n",
        "x = 1; \\\ny = 2\n",
        "\\\nx = 1\n",
        "if x:\n    y \\\n\n",
        "x = 1 \\\r\n + 2\r\n",
        "  \\\nx = 1\n",
        "x = 1\n  \\\ny = 2\n",
    ])


def t_unterminated(rng):
    return rng.choice([
        "x = 'abc\n",
        "x = \"abc\n",
        "x = '''abc\n",
        "x = \"\"\"abc\ndef\n",
        "x = f'{a\n",
        "x = f'abc\n",
        "x = 'abc' + 'de\n",
        "x = b'abc\n",
        "s = 'it''s'\n",
        "s = 'it\\'s'\n",
        "s = \"say \\\"#hi\\\"\"\n",
        "# don't\nx = 1\n",
        "x = 1 # it's fine\ny = '2'\n",
        "x = '''doc # not comment'''\n",
        "x = 'a' 'b\n",
        "x = '''a''' '''\n",
        "x = r'abc\\\n",
        "x = '\\\n",
        "x = 'abc\\\ndef'\n",
        "x = f'''{\n1\n}'''\n",
        "x = f'{1:\n}'\n",
        "'''\n",
        "\"\n",
        "x = \"\"\"\"\"\"\n",
        "x = ''''''''\n",
    ])


def t_edge(rng):
    """Hand-picked places where parsers tend to differ from CPython 3.11."""
    return rng.choice(EDGE_CASES)


EDGE_CASES = [
    "yield , a, b\n", "return , a\n", "x = , a\n", "del , a\n", "print(, a)\n",
    "f(**a, *b)\n", "f(a=1, b)\n", "f(*a=1)\n", "f(a.b=1)\n", "f(a[0]=1)\n", "f((a)=1)\n", "f(a=1 for a in b)\n",
    "class C(x=1, y): pass\n", "class C(**k, *a): pass\n", "with a as b, : pass\n", "with (a as b,): pass\n",
    "with (a, b as c): pass\n", "with (yield): pass\n", "with (a := b) as c: pass\n",
    "def f(a, *, **k): pass\n", "def f(a, *,): pass\n", "def f(**k=1): pass\n", "def f(*a=1): pass\n",
    "def f(a:int=1, /, *, b:int): pass\n", "def f(a, (b, c)): pass\n", "def f(a=1, *, b): pass\n", "def f(a=1, *b, c): pass\n",
    "del ()\n", "del []\n", "del (a)\n", "del [a, (b, c)]\n", "del a.b, a[1:2]\n", "del *a, b\n", "del (*a,)\n",
    "[a, b]: int = 1\n", "(a, b): int\n", "a: int = 1 = 2\n", "a: int, = 1\n", "a.b: int\n", "(a.b): int = 1\n", "a = b: int\n",
    "x = yield = 1\n", "x = (yield) = 1\n", "x = await = 1\n", "lambda: (yield)\n", "lambda: await x\n",
    "match x:\n    case {**_}: pass\n", "match x:\n    case _ as y: pass\n", "match x:\n    case {**a, **b}: pass\n",
    "match x:\n    case [*_, *_]: pass\n", "match x:\n    case a.b(): pass\n", "match x:\n    case 0 | -0.0 | 1e3j: pass\n",
    "match x:\n    case 1 - 2j: pass\n", "match x:\n    case -1 + -2j: pass\n", "match x:\n    case 1 + 2: pass\n",
    "match x:\n    case (1): pass\n", "match x:\n    case (): pass\n", "match x:\n    case []: pass\n", "match x:\n    case {}: pass\n",
    "match x:\n    case A(b=1, c=2): pass\n", "match x:\n    case A(b, c=2, d): pass\n", "match x:\n    case A(b=1, b=2): pass\n",
    "match x:\n    case {'a': 1, 'a': 2}: pass\n", "match x:\n    case {1: _, 2j: _}: pass\n", "match x:\n    case {a.b: 1}: pass\n",
    "match x:\n    case {f'': 1}: pass\n", "match x:\n    case f'{a}': pass\n", "match x:\n    case b'a' 'b': pass\n",
    "match x:\n    case 'a' b'b': pass\n", "match x:\n    case *a: pass\n", "match x:\n    case *a,: pass\n", "match x:\n    case a if b := 1: pass\n",
    "match x:\n    case a if (b := 1): pass\n", "match x:\n    case True | None: pass\n", "match x:\n    case [a, [b, *c]] as d: pass\n",
    "match x:\n    case a as b as c: pass\n", "match x:\n    case (a as b) as c: pass\n", "match x:\n    case 1 as 2: pass\n",
    "match x:\n    case a.b as c: pass\n", "match x, *y:\n    case _: pass\n", "match (x for x in y):\n    case _: pass\n",
    "match x:\n  case 1:\n    pass\n  case 2: pass\n", "match x: case 1: pass\n", "match x:\npass\n", "match x:\n    pass\n",
    "f'{#}'\n", "f'{x:#x}'\n", "f'{x!}'\n", "f'{x!rr}'\n", "f'{x!r }'\n", "f'{x! r}'\n", "f'{x=!r:^20}'\n", "f'{ x = }'\n",
    "f'{x:\\n}'\n", "f'{x:{y!r}}'\n", "f'{ }'\n", "f'{x}}'\n", "f'{{x}'\n", "f'{x:{{}}}'\n", "f'{x:}}'\n", "f'{lambda x:1}'\n",
    "f'{(lambda x:1)}'\n", "f'''{x # c\n}'''\n", "f'''{\nx\n}'''\n", "f'{x!r:{\"a\"}}'\n", "f\"{x:{'a'}}\"\n", "f'{x:=10}'\n",
    "f'{(x:=10)}'\n", "f'{x,}'\n", "f'{x, y}'\n", "f'{yield}'\n", "f'{await x}'\n", "f'{x for x in y}'\n", "f'{*x,}'\n",
    "f'{a[\"b\"]}'\n", "f'{\"\\\\n\"}'\n", "f'\\{x}'\n", "f'{x}\\'\n", "rf'{x}\\'\n", "f'{x!s:>{w}.{p}f}'\n",
    "f'{x:{y:{z}}}'\n", "f'{x:{y}{z}}'\n", "f'{f\"{x:{y}}\":{z}}'\n", "f'{x!a}'\n", "f'{x!S}'\n", "f'{x:!r}'\n",
    "f'{x' f'}'\n", "f'{x:' f'}'\n", "f'{{}}' '{'\n", "fr'\\{x}'\n", "f'{x:\\{}}'\n", "F'{x}' Rb'' \n",
    "f'{x}' b''\n", "b'' f'{x}'\n", "u'' f''\n", "f'{x}' u''\n", "'a' b'b'\n", "x = u'\\N{DASH}'\n",
    "0_7\n", "0_0\n", "00_0\n", "1_000j\n", "1e1_0\n", "1_e10\n", "1e_10\n", "0x_\n", "0b\n", "0o_7\n", "1.5_5\n", "1._5\n",
    "1_.5\n", "0.\n", "0e0\n", "0E+1_2\n", "0777\n", "0777.0\n", "0777e1\n", "0777j\n", "00.5\n", "1in x\n", "1or 2\n",
    "0x1or 2\n", "1_if 1 else 2\n", "1.real\n", "1.0.real\n", "x = 1if 2else 3\n", "[0x1for x in y]\n", "0b1and 1\n",
    "ｉｆ = 1\n", "ｐｒｉｎｔ(1)\n", "a·b = 1\n", "x\u2028 = 1\n", "℮x = 1\n", "x\u00b2 = 1\n", "\u00aa = 1\n", "\u2118x = 1\n",
    "x = 1\u200b\n", "x = '\u2028'\n", "# \u2028\n", "x = 1 # \0\n", "x\u0300 = 1\n", "ǅ = 1\n", "ⅷ = 1\n", "_\u200c = 1\n",
    "\\\n\\\n", "\\\nx\n", "x = 1 \\\n\n", "x = 1 \\\n  # c\n", "if x:\n    pass\n\\\n", "x = (1\n", "x = 1)\n",
    "if True:\n  x\n y\n", "if True:\n    x\n  y\n", "  x = 1\n", "\tx = 1\n", "# c\n  x = 1\n", "if x:\n# c\n    pass\n",
    "if x:\n    pass\n  # c\n", "if x:\n\tpass\n        pass\n", "if x:\n        pass\n\tpass\n", "if x:\n    \tpass\n\t    pass\n",
    "if x:\n \tpass\n", "if x:\n\t pass\n \t pass\n", "if x:\n\tif y:\n\t    pass\n\t        pass\n", "if x:\n\x0c  pass\n",
    "if x:\n  \x0cpass\n  pass\n", "", " ", "\n", "# only\n", "\t\n", "\\", "  \n  \n", "x", "pass\n\n\n  \n",
    "if x: pass\nelif y: pass\nelse: pass\nelif z: pass\n", "else: pass\n", "elif x: pass\n", "except: pass\n", "finally: pass\n",
    "for x in y: pass\nelse: pass\nelse: pass\n", "try: pass\nexcept: pass\nelse: pass\n", "try: pass\nelse: pass\nexcept: pass\n",
    "while x: pass\nelif y: pass\n", "def f(): pass; def g(): pass\n", "class C: x = 1; def f(): pass\n", "if x: pass; else: pass\n",
    "global x; x = 1\n", "import a; from b import c; pass\n", "x = [i for i in range(3) if]\n", "print(1 if 2)\n", "print(1 if 2 else)\n",
    "x = not not x\n", "x = - - x\n", "x = not -x\n", "x = -not x\n", "x = ~not x\n", "x = a < not b\n", "x = a == not b\n",
    "x = a if not b else c\n", "x = a and not b\n", "x = await x ** 2\n", "x = -x ** -y\n", "x = a @ b @= c\n", "x @= 1\n",
    "x = a[1:2, ::3, ...]\n", "x = a[]\n", "x = a[:,]\n", "x = a[1:2:3:4]\n", "x = a[b:=1]\n", "x = a[(b:=1)]\n", "x = a[*b, c]\n",
    "x = a[b, *c]\n", "x = a[*b:c]\n", "a[*b] = c\n", "del a[*b]\n", "x = {a:b:c}\n", "x = {a:b, c}\n", "x = {a, b:c}\n",
    "x = {**a, b}\n", "x = {*a, b: c}\n", "x = {a: b for a in c if d}\n", "x = {a for a in b for c in d}\n",
    "x = [a for a in b for c in d if e if f]\n", "x = [a for a in lambda: b]\n", "x = [a for a in b if lambda: c]\n",
    "x = [a for a in b, c]\n", "x = [a for a, in b]\n", "x = [a for (a, b) in c]\n", "x = [a for a.b in c]\n", "x = [a for *a in b]\n",
    "x = [a async for a in b]\n", "x = [await a for a in b]\n", "x = (a for a in b) (c)\n", "x = a(b for b in c)\n",
    "x = a(b for b in c, d)\n", "x = a(d, b for b in c)\n", "x = a(*b for b in c)\n", "x = a(b=c for c in d)\n", "x = a(**b for b in c)\n",
    "x = a(b, *c, d=1, *e, **f, g=2)\n", "x = a(**f, g=2)\n", "x = a(**f, *g)\n", "x = a(**f, g)\n", "x = a(b=1, *c)\n",
    "assert x, y, z\n", "assert (x, y), z\n", "raise x, y\n", "raise x from y from z\n", "import a.b as c, d\n", "import a as b as c\n",
    "from a import b as c, d as e\n", "from a import (b as c, d as e,)\n", "from a import *, b\n", "from a import (*)\n",
    "from .a import *\n", "from . a import b\n", "from .import b\n", "from ... import a\n", "from .... import a\n", "import .a\n",
    "import a.b.c\n", "import a..b\n", "from a.b. import c\n", "from a import b.c\n", "nonlocal x, y\n", "global x,\n", "nonlocal\n",
    "async def f():\n    yield from x\n", "async def f():\n    return (yield)\n", "def f():\n    async for x in y: pass\n",
    "def f():\n    async with x: pass\n", "async def f():\n    [x async for x in y]\n", "async def f(): await\n",
    "async def f(): await x := 1\n", "async def f(): (await x := 1)\n", "async def f(): await (x := 1)\n", "async def f(): await -1\n",
    "async def f(): await not x\n", "async def f(): await await x\n", "async def f(): await (await x)\n", "async def f(): await x.y()\n",
    "async def f(): x = await y ** 2\n", "async def f(): x = (await y) ** 2\n", "async\n", "async def\n", "async class C: pass\n",
    "async if x: pass\n", "async while x: pass\n", "def async(): pass\n", "await\n", "x = await\n", "print(await)\n",
    "def f(): yield = 1\n", "yield = 1\n", "x = yield from\n", "x = yield from a, b\n", "x = yield a, b\n", "x = yield *a, b\n",
    "x = (yield from a)\n", "x = [yield]\n", "x = [(yield)]\n", "x = {yield: 1}\n", "def f(x=yield): pass\n", "def f(x: yield): pass\n",
    "def f() -> yield: pass\n", "class C(yield): pass\n", "@yield\ndef f(): pass\n", "x = lambda: yield\n", "x = f(yield)\n", "x = f(yield a)\n",
    "x = f(a, yield b)\n", "x = a[yield]\n", "x = a[yield b]\n", "x = yield\nyield\n", "for x in yield: pass\n", "for x in (yield): pass\n",
    "while yield: pass\n", "while (yield): pass\n", "if yield: pass\n", "return yield\n", "return (yield)\n", "assert yield\n", "assert (yield)\n",
    "with yield: pass\n", "del yield\n", "x += yield\n", "x: int = yield\n", "print(x, end=yield)\n",
    "a, b = c, d = e\n", "a, *b, c = d\n", "(a, b), c = d\n", "[a, (b, *c)] = d\n", "a = *b, c = d\n", "a, b += 1\n", "(a) = 1\n",
    "((a)) = 1\n", "(a, b) += 1\n", "a.b.c = 1\n", "a[b][c] = 1\n", "a().b = 1\n", "a()[b] = 1\n", "a() = 1\n", "-a = 1\n", "a + b = 1\n",
    "(a + b) = 1\n", "a if b else c = 1\n", "[a, b if c else d] = 1\n", "lambda: a = 1\n", "a = lambda: b = 1\n", "not a = 1\n",
    "a < b = 1\n", "a and b = 1\n", "(yield) = 1\n", "await a = 1\n", "... = 1\n", "None = 1\n", "a, None = 1\n", "[a, True] = 1\n",
    "f'' = 1\n", "'a' 'b' = 1\n", "1 = 1\n", "{a: b} = 1\n", "{a} = 1\n", "{} = 1\n", "() = 1\n", "[] = 1\n", "(a := 1) = 2\n",
    "for a, b in c: pass\n", "for (a, b) in c: pass\n", "for [a, *b] in c: pass\n", "for a.b in c: pass\n", "for a[0] in c: pass\n",
    "for a() in c: pass\n", "for a + b in c: pass\n", "for None in c: pass\n", "for a in b, c: pass\n", "for a in *b, c: pass\n",
    "for a in b if c else d: pass\n", "for a in b: pass\nelse: pass\n", "for a, in b: pass\n", "for in b: pass\n", "for a in: pass\n",
    "with a as b[0]: pass\n", "with a as b.c: pass\n", "with a as (b, *c): pass\n", "with a as [b, c]: pass\n", "with a as b(): pass\n",
    "with a as b + c: pass\n", "with a as None: pass\n", "with a as (b): pass\n", "with (a as b): pass\n", "with (a, b) as c: pass\n",
    "with ((a as b)): pass\n", "with (a as b), (c as d): pass\n", "with (a as b, c as d), e: pass\n", "with (): pass\n", "with (a,): pass\n",
    "class C: pass\nclass D(C,): pass\n", "class C(,): pass\n", "class C(A B): pass\n", "class C[]: pass\n", "class C(): x\n",
    "def f[T]: pass\n", "def f(a, b,): pass\n", "def f(a, b, /,): pass\n", "def f(a, b, *, c,): pass\n", "def f(a,/,b,*,c,**d,): pass\n",
    "def f(*a, *b): pass\n", "def f(**a, **b): pass\n", "def f(*a, **b, c): pass\n", "def f(a, **b, c=1): pass\n", "def f(a=1, /, b=2, c): pass\n",
    "def f(a: int = 1 = 2): pass\n", "def f(a: *b): pass\n", "def f(*a: *b): pass\n", "def f(**a: *b): pass\n", "def f(a, *b: *c): pass\n",
    "def f() -> int, str: pass\n", "def f() -> (int, str): pass\n", "def f() -> lambda: 1: pass\n", "def f() -> x := 1: pass\n",
    "def f(x: int := 1): pass\n", "def f(x=y := 1): pass\n", "def f(x=(y := 1)): pass\n", "def f(x=*y): pass\n", "def f(x=(*y,)): pass\n",
    "lambda *a, *b: 0\n", "lambda a=1, b=2, /, c=3: 0\n", "lambda a, /, b: 0\n", "lambda *, a=1: 0\n", "lambda **a, b: 0\n",
    "lambda a: int: 0\n", "lambda (a, b): 0\n", "lambda a, (b): 0\n", "lambda a=yield: 0\n", "lambda: *a\n", "lambda: (*a,)\n",
    "x = 'a\\\n'\n", "x = '''a\n\n'''\n", "x = \"\"\"\\\n\"\"\"\n", "x = 'a' \\\n 'b'\n", "x = r'\\\n'\n", "x = b'\\\n'\n", "x = '\\\r\n'\n",
    "x = 'a\r'\n", "x = '\\N{LATIN SMALL LETTER A}'\n", "x = '\\N{latin small letter a}'\n", "x = '\\N{}'\n", "x = '\\N'\n", "x = '\\N{LATIN\n",
    "x = rb'\\N{x}'\n", "x = r'\\N{x}'\n", "x = '\\777'\n", "x = b'\\777'\n", "x = '\\8'\n", "x = '\\x'\n", "x = '\\xg0'\n", "x = '\\u00'\n",
    "x = '\\U0010ffff'\n", "x = '\\U00110000'\n", "x = b'\\U00110000'\n", "x = '\\udc80'\n", "x = '\ud7ff'\n", "x = b'\\x80\\xff'\n",
    "x = b'\u0080'\n", "x = rb'\u00ff'\n", "x = br'\\'\n", "x = '''\\'''\n", "x = ''' ''' '''\n", "x = ''''''\n", "x = \"\"\"\"\"\"\"\"\n",
]


def t_nul(rng, src):
    i = rng.randrange(len(src) + 1)
    return src[:i] + "\0" + src[i:]


def t_invalid_char(rng, src):
    i = rng.randrange(len(src) + 1)
    ch = rng.choice(["$", "?", "!", "`", "\x01", "\x7f", "€", "¿", "\u2028", "\ufeff", "\u00a0", "\x1c", "\x1f"])
    return src[:i] + ch + src[i:]


def t_return_etc(rng):
    return rng.choice([
        "return 1\n", "return\n", "nonlocal x\n", "await x\n", "yield x\n", "yield from x\n",
        "break\n", "continue\n", "x = await y\n", "class C:\n    nonlocal x\n", "def f():\n    global x\n    x = 1\n",
        "def f(x):\n    global x\n", "def f():\n    x = 1\n    global x\n", "def f():\n    nonlocal y\n",
        "def f():\n    yield\n    return 1\n", "async def f():\n    yield\n    return 1\n",
        "f(x for x in y)\n", "[x async for x in y]\n", "def f():\n    [x async for x in y]\n",
        "from __future__ import nested_scopes\n", "x = 1\nfrom __future__ import annotations\n",
        "from __future__ import nonexistent\n", "def f(*, a=1, a=2): pass\n", "{1: 2, **x}\n",
        "x = [(yield) for a in b]\n", "def f():\n    x = [(yield) for a in b]\n",
        "class C:\n    x = [i for i in y if (z := i)]\n", "[i := 0 for i in x]\n", "[x for x in (y := [1])]\n",
    ])


GENERATORS = [
    # (kind, weight)
    ("original", 16),
    ("delete_token", 8),
    ("duplicate_token", 5),
    ("swap_tokens", 5),
    ("bad_indent", 5),
    ("mixed_tabs", 5),
    ("py2_print", 3),
    ("py2_exec", 3),
    ("match_valid", 3),
    ("match_broken", 3),
    ("match_soft_kw", 2),
    ("walrus", 3),
    ("fstring", 4),
    ("fstring_312", 3),
    ("async_await", 3),
    ("decorator", 2),
    ("unicode", 4),
    ("lambda", 2),
    ("star_expr", 3),
    ("except_star", 2),
    ("deep_nesting", 3),
    ("type_params", 1),
    ("misc_syntax", 8),
    ("line_continuation", 3),
    ("unterminated_string", 3),
    ("nul_byte", 2),
    ("invalid_char", 2),
    ("compiler_only", 2),
    ("embedded", 4),
    ("edge_case", 10),
]


def misc(rng):
    return t_type_params(rng)


def make(rng, kind, snippets):
    src = rng.choice(snippets)[1]
    if kind == "original":
        return src
    if kind in ("delete_token", "duplicate_token", "swap_tokens"):
        return tok_mutation(rng, src, kind)
    if kind in ("bad_indent", "mixed_tabs"):
        return line_mutation(rng, src, kind)
    if kind == "py2_print":
        return t_py2_print(rng)
    if kind == "py2_exec":
        return t_py2_exec(rng)
    if kind == "match_valid":
        return t_match(rng, False)
    if kind == "match_broken":
        return t_match(rng, True)
    if kind == "match_soft_kw":
        return t_match_soft(rng)
    if kind == "walrus":
        return t_walrus(rng)
    if kind == "fstring":
        return "x = " + t_fstring(rng, False)
    if kind == "fstring_312":
        return "x = " + t_fstring(rng, True)
    if kind == "async_await":
        return t_async(rng)
    if kind == "decorator":
        return t_decorator(rng)
    if kind == "unicode":
        return t_unicode(rng)
    if kind == "lambda":
        return t_lambda(rng)
    if kind == "star_expr":
        return t_star(rng)
    if kind == "except_star":
        return t_except_star(rng)
    if kind == "deep_nesting":
        return t_deep(rng)
    if kind == "type_params":
        return t_type_params(rng)[:0] + rng.choice([
            "type X = int\n", "type X[T] = list[T]\n", "def f[T](x: T) -> T: pass\n",
            "class C[T]: pass\n", "class C[T: int, *Ts, **P]: pass\n", "def f[T = int](): pass\n",
            "type = 1\n", "type.x = 1\n", "type X\n", "type X = \n", "def f[](): pass\n",
        ])
    if kind == "misc_syntax":
        return misc(rng)
    if kind == "line_continuation":
        return t_continuation(rng)
    if kind == "unterminated_string":
        return t_unterminated(rng)
    if kind == "nul_byte":
        return t_nul(rng, src if rng.random() < 0.7 else "x = 'a'\n")
    if kind == "invalid_char":
        return t_invalid_char(rng, src)
    if kind == "compiler_only":
        return t_return_etc(rng)
    if kind == "edge_case":
        return t_edge(rng)
    if kind == "embedded":
        # A template fragment spliced into real code, indented to match a random line.
        frag = rng.choice([t_walrus, t_fstring_any, t_star, t_py2_print, t_lambda, t_async, t_match_soft, t_unicode, t_continuation])(rng)
        lines = src.splitlines(keepends=True)
        i = rng.randrange(len(lines) + 1)
        ref = lines[i - 1] if i > 0 else ""
        indent = ref[: len(ref) - len(ref.lstrip(" \t"))]
        if ref.rstrip().endswith(":"):
            indent += "    "
        frag = "".join(indent + ln for ln in frag.splitlines(keepends=True))
        if i > 0 and not lines[i - 1].endswith("\n"):
            lines[i - 1] += "\n"
        return "".join(lines[:i]) + frag + "".join(lines[i:])
    raise ValueError(kind)


def t_fstring_any(rng):
    return "x = " + t_fstring(rng, rng.random() < 0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rng = random.Random(args.seed)
    snippets = load_snippets(rng)
    kinds = [k for k, _ in GENERATORS]
    weights = [w for _, w in GENERATORS]
    with open(args.out, "w", encoding="utf-8") as out:
        for i in range(args.n):
            kind = rng.choices(kinds, weights)[0]
            src = make(rng, kind, snippets)
            valid, err = label(src)
            out.write(json.dumps({"id": i, "source": src, "kind": kind, "valid": valid, "error": err}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
