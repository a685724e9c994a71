#!/usr/bin/env python3
"""Deterministic generator of reward test cases (realistic + adversarial).

    python3 python/oracle/gen_cases.py --seed 7 --n 2500 > cases.jsonl

Each line: {"id": "<kind>-<i>", "kind": ..., "completion": ..., "target": ...}.
`completion` is the text generated after the prefilled "<think>".  Every kind in
KINDS appears at least once (the first len(KINDS) cases go through KINDS in
order; the rest are drawn with the weights below).  All targets tokenize with
the stdlib tokenizer (adversarial text goes into completions only), except
that nothing else is guaranteed about them.
"""

import argparse
import io
import json
import random
import sys
import tokenize

# --------------------------------------------------------------------------
# realistic data-science snippets: (old, new) pairs, parametrised

VARS = ["x", "arr", "data", "values", "a", "scores", "weights", "feat", "emb", "t"]
DFS = ["df", "frame", "sales", "users", "table", "events"]
COLS = ["price", "qty", "region", "date", "user_id", "score", "label", "amount", "city", "age",
        "category", "revenue", "clicks", "country", "status"]
PLT = ["ax", "axis", "ax0", "panel"]


def tpl_numpy(r):
    v = r.choice(VARS)
    n = r.randint(2, 9)
    kind = r.randrange(6)
    if kind == 0:
        old = f"import numpy as np\n{v} = np.arange({n * 10}).reshape({n}, -1)\nm = np.asscalar({v}.mean())\nprint(m)"
        new = f"import numpy as np\n{v} = np.arange({n * 10}).reshape({n}, -1)\nm = {v}.mean().item()\nprint(m)"
    elif kind == 1:
        old = f"import numpy as np\n\n{v} = np.random.rand({n})\nmask = {v} > 0.5\ncount = np.alen({v}[mask])"
        new = f"import numpy as np\n\n{v} = np.random.rand({n})\nmask = {v} > 0.5\ncount = len({v}[mask])"
    elif kind == 2:
        old = f"import numpy as np\n{v} = np.array([1, 2, 3], dtype=np.float)\ntotal = np.product({v})"
        new = f"import numpy as np\n{v} = np.array([1, 2, 3], dtype=np.float64)\ntotal = np.prod({v})"
    elif kind == 3:
        old = (f"import numpy as np\n\ndef normalise({v}):\n    \"\"\"Scale {v} to unit norm.\"\"\"\n"
               f"    norm = np.linalg.norm({v}, axis=-1, keepdims=True)\n    return np.true_divide({v}, norm)\n")
        new = (f"import numpy as np\n\ndef normalise({v}):\n    \"\"\"Scale {v} to unit norm.\"\"\"\n"
               f"    norm = np.linalg.norm({v}, axis=-1, keepdims=True)\n    return np.divide({v}, norm)\n")
    elif kind == 4:
        old = f"import numpy as np\nrng = np.random.RandomState({n})\n{v} = rng.randint(0, 10, size={n})\nprint(np.in1d({v}, [1, 2]))"
        new = f"import numpy as np\nrng = np.random.default_rng({n})\n{v} = rng.integers(0, 10, size={n})\nprint(np.isin({v}, [1, 2]))"
    else:
        old = f"import numpy as np\n{v} = np.linspace(0, 1, {n * 5})\nidx = np.where({v} > 0.3)[0]\nout = np.row_stack([{v}, {v}])"
        new = f"import numpy as np\n{v} = np.linspace(0, 1, {n * 5})\nidx = np.where({v} > 0.3)[0]\nout = np.vstack([{v}, {v}])"
    return old, new


def tpl_pandas(r):
    d = r.choice(DFS)
    c1, c2, c3 = r.sample(COLS, 3)
    kind = r.randrange(5)
    if kind == 0:
        old = (f"import pandas as pd\n{d} = pd.read_csv('{d}.csv')\n{d} = {d}.append({{'{c1}': 1, '{c2}': 2}}, ignore_index=True)\n"
               f"print({d}.head())")
        new = (f"import pandas as pd\n{d} = pd.read_csv('{d}.csv')\n{d} = pd.concat([{d}, pd.DataFrame([{{'{c1}': 1, '{c2}': 2}}])], ignore_index=True)\n"
               f"print({d}.head())")
    elif kind == 1:
        old = f"import pandas as pd\n\ngrouped = {d}.groupby('{c1}')['{c2}'].agg(['mean', 'sum'])\nresult = grouped.ix[0]"
        new = f"import pandas as pd\n\ngrouped = {d}.groupby('{c1}')['{c2}'].agg(['mean', 'sum'])\nresult = grouped.iloc[0]"
    elif kind == 2:
        old = f"import pandas as pd\n{d}['{c1}'] = pd.to_datetime({d}['{c1}'], infer_datetime_format=True)\nout = {d}.swapaxes(0, 1)"
        new = f"import pandas as pd\n{d}['{c1}'] = pd.to_datetime({d}['{c1}'])\nout = {d}.transpose()"
    elif kind == 3:
        old = (f"import pandas as pd\n\ndef summarise({d}):\n    # aggregate per {c1}\n    s = {d}.groupby('{c1}').sum(numeric_only=False)\n"
               f"    return s['{c2}'].iteritems()\n")
        new = (f"import pandas as pd\n\ndef summarise({d}):\n    # aggregate per {c1}\n    s = {d}.groupby('{c1}').sum(numeric_only=True)\n"
               f"    return s['{c2}'].items()\n")
    else:
        old = f"import pandas as pd\nmerged = pd.merge({d}, other, on=\"{c1}\")\nmerged = merged.fillna(method='ffill')\nprint(merged[\"{c3}\"].mad())"
        new = f"import pandas as pd\nmerged = pd.merge({d}, other, on=\"{c1}\")\nmerged = merged.ffill()\nprint((merged[\"{c3}\"] - merged[\"{c3}\"].mean()).abs().mean())"
    return old, new


def tpl_matplotlib(r):
    a = r.choice(PLT)
    kind = r.randrange(4)
    col = r.choice(["red", "tab:blue", "#ff8800", "k"])
    if kind == 0:
        old = f"import matplotlib.pyplot as plt\nfig, {a} = plt.subplots()\n{a}.plot([1, 2, 3], color='{col}')\n{a}.set_axis_bgcolor('white')\nplt.show()"
        new = f"import matplotlib.pyplot as plt\nfig, {a} = plt.subplots()\n{a}.plot([1, 2, 3], color='{col}')\n{a}.set_facecolor('white')\nplt.show()"
    elif kind == 1:
        old = f"import matplotlib.pyplot as plt\nimport matplotlib.cm as cm\ncmap = cm.get_cmap('viridis', 8)\nplt.imshow(img, cmap=cmap)"
        new = f"import matplotlib.pyplot as plt\nimport matplotlib\ncmap = matplotlib.colormaps['viridis'].resampled(8)\nplt.imshow(img, cmap=cmap)"
    elif kind == 2:
        old = (f"import matplotlib.pyplot as plt\n\nfig = plt.figure()\n{a} = fig.gca(projection='3d')\n"
               f"{a}.set_title(\"surface\")\n{a}.legend(loc='upper left', ncol=2)")
        new = (f"import matplotlib.pyplot as plt\n\nfig = plt.figure()\n{a} = fig.add_subplot(projection='3d')\n"
               f"{a}.set_title(\"surface\")\n{a}.legend(loc='upper left', ncols=2)")
    else:
        old = f"import matplotlib.pyplot as plt\nplt.style.use('seaborn')\n{a} = plt.gca()\n{a}.grid(b=True)"
        new = f"import matplotlib.pyplot as plt\nplt.style.use('seaborn-v0_8')\n{a} = plt.gca()\n{a}.grid(visible=True)"
    return old, new


def tpl_torch(r):
    t = r.choice(VARS)
    kind = r.randrange(4)
    dim = r.randint(0, 2)
    if kind == 0:
        old = f"import torch\n{t} = torch.randn(4, 8)\nq, r = torch.qr({t})\nprint(q.shape)"
        new = f"import torch\n{t} = torch.randn(4, 8)\nq, r = torch.linalg.qr({t})\nprint(q.shape)"
    elif kind == 1:
        old = (f"import torch\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
               f"        self.fc = torch.nn.Linear(16, 4)\n\n    def forward(self, {t}):\n        return torch.nn.functional.softmax(self.fc({t}))\n")
        new = (f"import torch\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
               f"        self.fc = torch.nn.Linear(16, 4)\n\n    def forward(self, {t}):\n        return torch.nn.functional.softmax(self.fc({t}), dim={dim})\n")
    elif kind == 2:
        old = f"import torch\n{t} = torch.arange(10)\nidx = torch.nonzero({t} > 3)\nsorted_, _ = torch.symeig(m, eigenvectors=True)"
        new = f"import torch\n{t} = torch.arange(10)\nidx = torch.nonzero({t} > 3)\nsorted_, _ = torch.linalg.eigh(m)"
    else:
        old = f"import torch\nwith torch.cuda.amp.autocast():\n    out = model({t})\nloss = out.sum()"
        new = f"import torch\nwith torch.amp.autocast('cuda'):\n    out = model({t})\nloss = out.sum()"
    return old, new


def tpl_sklearn(r):
    kind = r.randrange(3)
    k = r.randint(2, 8)
    if kind == 0:
        old = f"from sklearn.cluster import KMeans\nkm = KMeans(n_clusters={k}, n_jobs=-1)\nlabels = km.fit_predict(X)"
        new = f"from sklearn.cluster import KMeans\nkm = KMeans(n_clusters={k}, n_init='auto')\nlabels = km.fit_predict(X)"
    elif kind == 1:
        old = f"from sklearn.preprocessing import OneHotEncoder\nenc = OneHotEncoder(sparse=False)\nZ = enc.fit_transform(X)\nnames = enc.get_feature_names()"
        new = f"from sklearn.preprocessing import OneHotEncoder\nenc = OneHotEncoder(sparse_output=False)\nZ = enc.fit_transform(X)\nnames = enc.get_feature_names_out()"
    else:
        old = f"from scipy import misc\nimport scipy.integrate as si\nv = misc.comb({k + 4}, {k})\narea = si.simps(y, x)"
        new = f"from scipy import special\nimport scipy.integrate as si\nv = special.comb({k + 4}, {k})\narea = si.simpson(y, x=x)"
    return old, new


TEMPLATES = [tpl_numpy, tpl_pandas, tpl_matplotlib, tpl_torch, tpl_sklearn]

THINK_SENTENCES = [
    "The update note says the old function is deprecated.",
    "I need to replace the old call with the new one while keeping the behaviour.",
    "Let me check which arguments change: the keyword was renamed.",
    "The rest of the code can stay as it is.",
    "Note that a < b and b > c are unaffected by the change.",
    "In the old version we called the function directly; now it lives in a submodule.",
    "The return value has the same shape, so downstream code works.",
    "I will keep the imports and only change the line that uses the API.",
    "Careful: the default changed, so I pass the argument explicitly.",
    "This is a rename, nothing else.",
]


def pair(r):
    return r.choice(TEMPLATES)(r)


def think(r, lo=1, hi=4):
    return " ".join(r.choice(THINK_SENTENCES) for _ in range(r.randint(lo, hi)))


def wrap(reason, code, r=None, before="\n", after="\n"):
    """A well-formed completion (text after the prefilled <think>)."""
    return f"{before}{reason}\n</think>\n<answer>\n```python\n{code}\n```\n</answer>{after}"


def add_comments(r, code):
    out = []
    for line in code.split("\n"):
        if line.strip() and r.random() < 0.3:
            line = line + r.choice(["  # updated", " # new API", "\t# keep", "  # TODO check"])
        out.append(line)
        if r.random() < 0.15:
            out.append(r.choice(["", "    ", "# a comment line", "\t"]))
    return "\n".join(out)


def small_edit(r, code):
    ops = r.randint(1, 3)
    s = list(code)
    for _ in range(ops):
        if not s:
            break
        i = r.randrange(len(s))
        op = r.randrange(3)
        if op == 0:
            s.insert(i, r.choice("abcxyz_0123 "))
        elif op == 1 and s[i] not in "\n\"'#":
            del s[i]
        elif s[i].isalnum():
            s[i] = r.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(s)


# --------------------------------------------------------------------------
# kinds

def k_realistic_exact(r):
    old, new = pair(r)
    code = add_comments(r, new) if r.random() < 0.5 else new
    return wrap(think(r), code), new


def k_realistic_partial(r):
    old, new = pair(r)
    return wrap(think(r), old if r.random() < 0.5 else small_edit(r, new)), new


def k_realistic_noisy(r):
    old, new = pair(r)
    code = add_comments(r, new)
    code = "\n".join(l + r.choice(["", " ", "  ", "\t"]) for l in code.split("\n"))
    code = r.choice(["", "\n", "\n\n"]) + code + r.choice(["", "\n", "\n  \n"])
    tgt = new if r.random() < 0.5 else add_comments(r, new)
    return wrap(think(r), code), tgt


def k_q_docstring(r):
    old, new = pair(r)
    doc = r.choice(['"""Migrated code."""', "'''Uses the new API.'''", '"""Multi\nline\n  docstring."""'])
    code = doc + "\n" + new
    tgt = new if r.random() < 0.5 else code
    return wrap(think(r), code), tgt


def k_q_ws_before_comment(r):
    old, new = pair(r)
    lines = new.split("\n")
    i = r.randrange(len(lines))
    lines[i] = lines[i] + r.choice(["   # note", "\t# tab then comment", " #", "    #    "])
    return wrap(think(r), "\n".join(lines)), new


def k_q_apostrophe_comment(r):
    old, new = pair(r)
    lines = new.split("\n")
    i = r.randrange(len(lines))
    lines[i] = lines[i] + r.choice(["  # don't use the old API", "  # it's renamed", "# can't keep this"])
    if r.random() < 0.5:
        j = r.randrange(len(lines))
        lines[j] = lines[j] + r.choice(["  # won't break", "  # user's data", " # 'quoted'"])
    code = "\n".join(lines)
    tgt = new if r.random() < 0.6 else code
    return wrap(think(r), code), tgt


def k_q_unicode(r):
    old, new = pair(r)
    extra = r.choice(["label = 'température'\n", "title = \"数据分析 📊\"\n", "name = 'naïve'  # 🚀 faster\n",
                      "s = 'é'  # e + combining: e\u0301\n", "π = 3.14159\n", "msg = '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'\n"])
    code = extra + new
    tgt = code if r.random() < 0.5 else extra.replace("'", '"') + new
    if r.random() < 0.3:
        code = small_edit(r, code)
    return wrap(think(r) + " ünïcödé ✓", code), tgt


def k_q_many_literals(r):
    d = r.choice(DFS)
    n = r.randint(9, 16)
    cols = [r.choice(COLS) + str(i) for i in range(n)]
    q = r.choice(["'", '"'])
    code = "import pandas as pd\n" + f"{d} = pd.DataFrame(columns=[" + ", ".join(q + c + q for c in cols) + "])\n"
    code += f"{d} = {d}.rename(columns={{{q}a{q}: {q}b{q}}})"
    tgt = code if r.random() < 0.6 else code.replace("rename", "set_axis")
    return wrap(think(r), code), tgt


def k_q_escaped_quote_hash(r):
    old, new = pair(r)
    extra = r.choice(['msg = "say \\"#hi\\""\n', "s = 'it\\'s #1'\n", 'x = "a\\"b" # c\n', 'print("\\"#\\"", 1)\n',
                      "pat = r'\\'#'\n"])
    code = extra + new
    return wrap(think(r), code), (code if r.random() < 0.5 else new)


def k_q_blank_in_triple(r):
    old, new = pair(r)
    doc = r.choice(['"""First line.\n\nSecond paragraph.\n"""', "'''a\n\n\n   \nb'''", 'SQL = """\nSELECT *\n\nFROM t\n"""'])
    code = doc + "\n" + new
    return wrap(think(r), code), code


WS_ODD = ["\x1c", "\x1d", "\x1e", "\x1f", "\x0b", "\x0c", "\x85", "\xa0", "\u2028", "\u3000", "\u2003"]


def k_q_unicode_ws(r):
    old, new = pair(r)
    lines = new.split("\n")
    w = r.choice(WS_ODD)
    how = r.randrange(5)
    if how == 0:
        lines[r.randrange(len(lines))] += w
    elif how == 1:
        lines.insert(r.randrange(len(lines) + 1), w * r.randint(1, 3))
    elif how == 2:
        lines[0] = w + lines[0]
    elif how == 3:
        lines[-1] += "  # c" + w
    else:
        lines = [w + l for l in lines]
    code = "\n".join(lines)
    after = r.choice(["\n", w, "\n" + w + "\n", " " + w])
    between = r.choice(["\n", w, "\n" + w])
    comp = f"\n{think(r)}\n</think>{between}<answer>\n```python\n{code}\n```\n</answer>{after}"
    return comp, new


def k_q_indented_block(r):
    old, new = pair(r)
    ind = r.choice(["    ", "\t", "  "])
    code = "\n".join((ind + l) if l else l for l in new.split("\n"))
    return wrap(think(r), code), new


def k_f_nested_think(r):
    old, new = pair(r)
    reason = think(r) + r.choice(["<think>inner</think>", " <think> ", " </think> more ", "<think/>", "< think>", "</thinking>", "<thinker>"])
    return wrap(reason, new), new


def k_f_after_answer(r):
    old, new = pair(r)
    after = r.choice(["\nThanks!", "\n\n  \t\n", "<|im_end|>", "\n</answer>", " ", "\n```"])
    return wrap(think(r), new, after=after), new


def k_f_starts_with_think(r):
    old, new = pair(r)
    return "<think>" + wrap(think(r), new), new


def k_f_no_fence(r):
    old, new = pair(r)
    v = r.randrange(3)
    if v == 0:
        comp = f"\n{think(r)}\n</think>\n<answer>\n{new}\n</answer>"
    elif v == 1:
        comp = f"\n{think(r)}\n</think>\n<answer>\n```\n{new}\n```\n</answer>"
    else:
        comp = f"\n{think(r)}\n</think>\n<answer>\n```Python\n{new}\n```\n</answer>"
    return comp, new


def k_f_fence_no_newline(r):
    old, new = pair(r)
    v = r.randrange(3)
    if v == 0:
        comp = f"\n{think(r)}\n</think>\n<answer>\n```python\n{new}```\n</answer>"
    elif v == 1:
        comp = f"\n{think(r)}\n</think>\n<answer>\n```python {new}\n```\n</answer>"
    else:
        comp = f"\n{think(r)}\n</think>\n<answer>\n```python\n{new}```\nmore\n```python\nx = 1\n```\n</answer>"
    return comp, new


def k_f_two_blocks(r):
    old, new = pair(r)
    first, second = (old, new) if r.random() < 0.5 else (new, old)
    comp = f"\n{think(r)}\n</think>\n<answer>\n```python\n{first}\n```\nor\n```python\n{second}\n```\n</answer>"
    return comp, new


def k_f_block_in_think(r):
    old, new = pair(r)
    comp = f"\nThe old code:\n```python\n{old}\n```\n{think(r)}\n</think>\n<answer>\n```python\n{new}\n```\n</answer>"
    return comp, new


def k_f_multi_answer(r):
    old, new = pair(r)
    comp = f"\n{think(r)}\n</think>\n<answer>\n```python\n{new}\n```\n</answer>\n<answer>\nagain\n</answer>\n"
    if r.random() < 0.5:
        comp = f"\n{think(r)}\n</think>\n<answer>draft</answer>\n<answer>\n```python\n{new}\n```\n</answer>"
    return comp, new


def k_f_crlf(r):
    old, new = pair(r)
    comp = wrap(think(r), new).replace("\n", "\r\n")
    if r.random() < 0.3:
        comp = comp.replace("```python\r\n", "```python\n")
    tgt = new if r.random() < 0.7 else new.replace("\n", "\r\n")
    return comp, tgt


def k_f_tabs(r):
    old, new = pair(r)
    code = new.replace("    ", "\t")
    comp = f"\t{think(r)}\t</think>\t<answer>\t\n```python\n{code}\n```\n</answer>\t"
    return comp, new


def k_f_unicode(r):
    old, new = pair(r)
    reason = think(r) + " 🤔 Ünïcode — «quotes» ‘x’ ≤ ≥ → 漢字"
    return wrap(reason, new, after=r.choice(["", "\u3000", "\n\xa0"])), new


def k_f_empty(r):
    old, new = pair(r)
    return r.choice(["", " ", "\n", "</think><answer></answer>", "</think>\n<answer>\n```python\n\n```\n</answer>"]), \
        r.choice([new, ""])


def k_zero_division(r):
    code = r.choice(["# only a comment", "#", "   # indented comment\n# another", "\n# x\n\n", "", " "])
    comp = wrap(think(r), code)
    if r.random() < 0.3:
        comp = f"\n{think(r)}\n</think>\n<answer>\n```python\n\n```\n</answer>"
    tgt = r.choice(["", "# target comment", "\n\n", "  "])
    return comp, tgt


def k_nul_bytes(r):
    old, new = pair(r)
    lines = new.split("\n")
    i = r.randrange(len(lines))
    where = r.randrange(3)
    if where == 0:
        lines[i] += "\x00"
    elif where == 1:
        lines[i] += "  # nul\x00here"
    else:
        lines[i] += " + '\x00'"
    return wrap(think(r), "\n".join(lines)), new


def k_deep_nesting(r):
    v = r.randrange(8)
    code = ["'-'*100000+'1'", "not*5000", "-" * 100000 + "1", "not " * 5000 + "x",
            "x = " + "-" * 50 + "1", "y = " + "not " * 300 + "x", "z = " + "(" * 150 + "1" + ")" * 150,
            "w = 1" + " + 1" * 8000][v]
    if v == 1:
        code = "x = " + "not " * 6000 + "x"
    return wrap(think(r), code), r.choice(["x = 1", ""])


def k_cpython_limits(r):
    v = r.randrange(6)
    if v == 0:
        code = "x = " + "(" * 200 + "1" + ")" * 200
    elif v == 1:
        code = "x = " + "(" * 201 + "1" + ")" * 201
    elif v == 2:
        code = "x = " + "[" * 201 + "]" * 201
    elif v == 3:
        code = "".join("    " * i + "if x:\n" for i in range(99)) + "    " * 99 + "pass"
    elif v == 4:
        code = "".join("    " * i + "if x:\n" for i in range(100)) + "    " * 100 + "pass"
    else:
        code = "x = " + "{" * 120 + "}" * 120
    return wrap(think(r), code), "x = 1"


def k_return_outside(r):
    code = r.choice(["return 1", "x = 1\nreturn x", "yield 5", "nonlocal x", "await foo()", "break",
                     "def f():\n    global x\n    x = 1\n    global x", "f(**x, *y)", "x = yield"])
    return wrap(think(r), code), r.choice(["return 1", "x = 1"])


def k_py2_print(r):
    code = r.choice(['print "hello"', "print 'a', b", "exec 'x = 1'", "x = 0777", "raise E, 'msg'", "print(\"ok\")",
                     "x = ur'abc'", "print >>f, 'x'", "x = `y`"])
    return wrap(think(r), code), 'print("hello")'


def k_syntax_misc(r):
    old, new = pair(r)
    code = r.choice([new + "\n  x = 1", new + "\ndef f(:\n  pass", "x = (1,\n", new + "\n'''unterminated",
                     "if x:\npass", "x = 1 \\\n", "f'{x!}'", "match x:\n    case 1:\n        pass",
                     "x := 1", "lambda: (yield)", "del f()", "a, b += 1", "x = 1; ; y = 2",
                     "async def f():\n    async with a as b:\n        pass", "def f[T](x): pass", "type X = int",
                     "try:\n    pass\nexcept* E:\n    pass", "x = 1_000_", "0b102", "print(f'{x=}')",
                     "\tif x:\n        pass", "if x:\n\tpass\n        pass"])
    return wrap(think(r), code), new


TAG_FRAGS = ["<think>", "</think>", "<answer>", "</answer>", "```", "```python\n", "\n```", "<", ">", "/", "</",
             "think>", "answer>", "\r\n", "\x1c"]


def k_mutation(r):
    old, new = pair(r)
    comp = wrap(think(r, 1, 2), new if r.random() < 0.7 else add_comments(r, new))
    s = comp
    for _ in range(r.randint(1, 4)):
        i = r.randrange(len(s) + 1)
        if r.random() < 0.4 and s:
            j = min(len(s), i + r.randint(1, 3))
            s = s[:i] + s[j:]
        elif r.random() < 0.5:
            s = s[:i] + r.choice("<>/#'\"\n\t") + s[i:]
        else:
            s = s[:i] + r.choice(TAG_FRAGS) + s[i:]
    return s, new


def k_fixed_specific(r):
    old, new = pair(r)
    v = r.randrange(10)
    if v == 0:  # python block in think, a different one in the answer
        comp = f"\nOld:\n```python\n{old}\n```\n{think(r)}\n</think>\n<answer>\n```python\n{new}\n```\n</answer>"
    elif v == 1:  # only block is in the think part
        comp = f"\n```python\n{new}\n```\n</think>\n<answer>\ndone\n</answer>"
    elif v == 2:  # CRLF everywhere
        comp = wrap(think(r), new).replace("\n", "\r\n")
    elif v == 3:  # indented block + comments with apostrophes
        code = "\n".join("    " + l if l else l for l in add_comments(r, new).split("\n"))
        comp = wrap(think(r), code + "  # don't")
    elif v == 4:  # hash inside strings
        code = 'url = "http://x/#frag"  # comment\n' + "s = '#not a comment'\n" + new
        comp = wrap(think(r), code)
        return comp, code
    elif v == 5:  # untokenizable completion code
        code = r.choice([new + '\ns = """never closed', new + "\nx = (1,", "if x:\n        a = 1\n    b = 2"])
        comp = wrap(think(r), code)
    elif v == 6:  # lone CR
        comp = wrap(think(r), new.replace("\n", "\r"))
    elif v == 7:  # trailing whitespace in a multi-line string must stay
        code = 'S = """a   \n  \n\tb  """   \n' + new
        comp = wrap(think(r), code)
        return comp, 'S = """a   \n  \n\tb  """\n' + new
    elif v == 8:  # backslash-continued string and line continuation
        code = "s = 'abc\\\n  def'  # c\nt = 1 + \\\n    2\n" + new
        comp = wrap(think(r), code)
        return comp, code
    else:  # second </think>
        comp = f"\n{think(r)}\n</think>\n```python\n{old}\n```\n</think>\n<answer>\n```python\n{new}\n```\n</answer>"
    return comp, new


KINDS = [
    ("realistic_exact", k_realistic_exact, 12),
    ("realistic_partial", k_realistic_partial, 12),
    ("realistic_noisy", k_realistic_noisy, 10),
    ("q_docstring", k_q_docstring, 3),
    ("q_ws_before_comment", k_q_ws_before_comment, 3),
    ("q_apostrophe_comment", k_q_apostrophe_comment, 4),
    ("q_unicode", k_q_unicode, 3),
    ("q_many_literals", k_q_many_literals, 3),
    ("q_escaped_quote_hash", k_q_escaped_quote_hash, 3),
    ("q_blank_in_triple", k_q_blank_in_triple, 3),
    ("q_unicode_ws", k_q_unicode_ws, 4),
    ("q_indented_block", k_q_indented_block, 3),
    ("f_nested_think", k_f_nested_think, 2),
    ("f_after_answer", k_f_after_answer, 2),
    ("f_starts_with_think", k_f_starts_with_think, 1),
    ("f_no_fence", k_f_no_fence, 2),
    ("f_fence_no_newline", k_f_fence_no_newline, 2),
    ("f_two_blocks", k_f_two_blocks, 2),
    ("f_block_in_think", k_f_block_in_think, 2),
    ("f_multi_answer", k_f_multi_answer, 2),
    ("f_crlf", k_f_crlf, 2),
    ("f_tabs", k_f_tabs, 2),
    ("f_unicode", k_f_unicode, 2),
    ("f_empty", k_f_empty, 1),
    ("zero_division", k_zero_division, 2),
    ("nul_bytes", k_nul_bytes, 1),
    ("deep_nesting", k_deep_nesting, 1),
    ("cpython_limits", k_cpython_limits, 1),
    ("return_outside", k_return_outside, 1),
    ("py2_print", k_py2_print, 1),
    ("syntax_misc", k_syntax_misc, 2),
    ("mutation", k_mutation, 12),
    ("fixed_specific", k_fixed_specific, 5),
]


def tokenizes(code):
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    try:
        list(tokenize.generate_tokens(io.StringIO(code).readline))
        return True
    except (tokenize.TokenError, SyntaxError):
        return False


def generate(seed, n):
    r = random.Random(seed)
    names = [k[0] for k in KINDS]
    weights = [k[2] for k in KINDS]
    funcs = {k[0]: k[1] for k in KINDS}
    out = []
    for i in range(n):
        kind = names[i] if i < len(names) else r.choices(names, weights)[0]
        comp, tgt = funcs[kind](r)
        assert tokenizes(tgt), (kind, tgt)
        out.append({"id": f"{kind}-{i}", "kind": kind, "completion": comp, "target": tgt})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--n", type=int, default=2500)
    args = ap.parse_args()
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    for case in generate(args.seed, args.n):
        out.write(json.dumps(case, ensure_ascii=False) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
