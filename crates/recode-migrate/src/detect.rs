//! Deterministic detection: which code units of a file use the library's affected names.
//!
//! A file is parsed with ruff's parser (the one behind the rewards' syntax check). Every
//! `import` in the file binds names (`import numpy as np` binds `np` → `numpy`, `from numpy
//! import trapz as tz` binds `tz` → `numpy.trapz`, `from numpy import *` makes every free name
//! a candidate `numpy.NAME`); bindings are collected over the whole file, scopes ignored (an
//! over-approximation: a local variable shadowing `np` still counts as `np`). A name or an
//! attribute chain (`np.linalg.norm`) is resolved through them to a qualified name and matched
//! against the [`AffectedNames`]; import statements match by what they import.
//!
//! **Units**, the pieces the model rewrites:
//! * a top-level statement (simple or compound: a top-level `for`, `if`, `with`, `try` is one
//!   unit, whole), an import statement included;
//! * a function, with its decorators; a use in a nested function makes the outer function the
//!   unit;
//! * inside a class (at any depth of nested classes): each method, with its decorators, and each
//!   other statement of the class body. A use in the class header (decorators, bases, keywords)
//!   makes the whole class the unit.
//!
//! A file that does not mention the library's import root anywhere cannot import it and is
//! not parsed at all (the fast path that keeps a scan of a large tree short).
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Mod, Stmt};
use ruff_python_parser::{Mode, ParseOptions, Parsed, parse_unchecked};
use ruff_text_size::Ranged;

use crate::library::Library;
use crate::names::AffectedNames;

/// What kind of code a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    /// A top-level `import` or `from … import`.
    Import,
    /// Any other top-level statement.
    Statement,
    /// A top-level function (`def`/`async def`) with its decorators.
    Function,
    /// A function in a class body, with its decorators.
    Method,
    /// Another statement of a class body (`x = np.float64`).
    ClassStatement,
    /// A class whose header (decorators, bases) uses an affected name, whole.
    Class,
}

/// One piece of a file the model is asked to rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub kind: UnitKind,
    /// The function, method or class name, when there is one.
    pub name: Option<String>,
    /// Byte range in the file: from the first decorator's `@` (or the statement's first
    /// character) to the statement's last character (a trailing comment is not included).
    pub range: Range<usize>,
    /// 1-based first and last lines.
    pub lines: (usize, usize),
    /// White space before the unit on its first line (the unit's indentation).
    pub indent: String,
    /// The affected names that made it a unit, as written in the patterns.
    pub matched: Vec<String>,
    /// Set when another statement shares the unit's first or last line (`a = 1; b = np.trapz(x)`):
    /// such a unit cannot be replaced without touching its neighbour, so it is reported, not sent.
    pub shares_line: bool,
}

/// The result of scanning one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The units that use affected names, in file order (they never overlap).
    pub units: Vec<Unit>,
    /// Byte ranges of the top-level import statements, in file order (the prompt's context).
    pub imports: Vec<Range<usize>>,
    /// Where new imports go: after the leading block of imports (after the docstring when
    /// there are none, else at the start).
    pub import_insert_at: usize,
    /// Whether the file was parsed (false on the fast path: the root is never mentioned).
    pub parsed: bool,
}

/// A file ruff's parser rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Finds the units of `source` that use `names` of `library`.
pub fn scan(source: &str, names: &AffectedNames, library: &Library) -> Result<Scan, SyntaxProblem> {
    if !source.contains(library.root.as_str()) {
        return Ok(Scan::default());
    }
    let parsed = parse(source);
    let result = scan_parsed(source, &parsed, names, library);
    drop_deep(parsed, source.len());
    result
}

pub(crate) fn parse(source: &str) -> Parsed<Mod> {
    parse_unchecked(source, ParseOptions::from(Mode::Module).with_target_version(ruff_python_ast::PythonVersion::PY311))
}

/// Drops a parse result whose AST may be deeper than the stack allows, on a grown stack
/// (the same approach as recode-python).
pub(crate) fn drop_deep<T>(parsed: Parsed<T>, source_len: usize) {
    let need = source_len.saturating_mul(512).saturating_add(256 * 1024);
    if need <= 1 << 31 {
        stacker::maybe_grow(need, need, move || drop(parsed));
    } else {
        std::mem::forget(parsed);
    }
}

/// Line starts (byte offsets) of `source`.
pub(crate) fn line_starts(source: &str) -> Vec<usize> {
    std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&s| s <= offset)
}

fn scan_parsed(
    source: &str,
    parsed: &Parsed<Mod>,
    names: &AffectedNames,
    library: &Library,
) -> Result<Scan, SyntaxProblem> {
    let starts = line_starts(source);
    if let Some(error) = parsed.errors().first() {
        let at = error.location.start().to_usize();
        let line = line_of(&starts, at);
        let column = source[starts[line - 1]..at].chars().count() + 1;
        return Err(SyntaxProblem { line, column, message: error.error.to_string() });
    }
    let Mod::Module(module) = parsed.syntax() else {
        return Ok(Scan::default());
    };
    let mut bindings = Bindings::default();
    bindings.visit_body(&module.body);
    let imports_library = bindings.names.values().flatten().any(|q| library.owns(q))
        || bindings.star_modules.iter().any(|m| library.owns(m));
    let mut scan = Scan { parsed: true, ..Scan::default() };
    scan.imports = module
        .body
        .iter()
        .filter(|s| matches!(s, Stmt::Import(_) | Stmt::ImportFrom(_)))
        .map(|s| s.start().to_usize()..s.end().to_usize())
        .collect();
    scan.import_insert_at = import_insert_point(source, &module.body);
    if !imports_library {
        return Ok(scan);
    }
    let matcher = Matcher { bindings: &bindings, names, library };
    let mut collector = UnitCollector { source, starts: &starts, matcher: &matcher, units: Vec::new() };
    collector.body(&module.body, false);
    scan.units = collector.units;
    Ok(scan)
}

/// Names bound by imports anywhere in the file.
#[derive(Default)]
struct Bindings {
    names: HashMap<String, Vec<String>>,
    star_modules: Vec<String>,
}

impl Bindings {
    fn visit_body(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.visit_stmt(stmt);
        }
    }
    fn bind(&mut self, name: &str, qualified: String) {
        let entry = self.names.entry(name.to_string()).or_default();
        if !entry.contains(&qualified) {
            entry.push(qualified);
        }
    }
}

impl<'a> Visitor<'a> for Bindings {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let module = alias.name.id.as_str();
                    match &alias.asname {
                        Some(as_name) => self.bind(as_name.id.as_str(), module.to_string()),
                        // `import a.b.c` binds `a`, through which `a.b.c.x` resolves by itself.
                        None => {
                            let first = module.split('.').next().unwrap_or(module);
                            self.bind(first, first.to_string());
                        }
                    }
                }
            }
            Stmt::ImportFrom(from) if from.level == 0 => {
                if let Some(module) = &from.module {
                    for alias in &from.names {
                        if alias.name.id.as_str() == "*" {
                            self.star_modules.push(module.id.to_string());
                        } else {
                            let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                            self.bind(bound.id.as_str(), format!("{}.{}", module.id, alias.name.id));
                        }
                    }
                }
            }
            _ => stacker::maybe_grow(64 * 1024, 1024 * 1024, || visitor::walk_stmt(self, stmt)),
        }
    }
    // Imports are statements: expressions need not be walked.
    fn visit_expr(&mut self, _expr: &'a Expr) {}
}

/// Matches uses in one subtree against the affected names.
struct Matcher<'b> {
    bindings: &'b Bindings,
    names: &'b AffectedNames,
    library: &'b Library,
}

impl Matcher<'_> {
    /// Qualified names a dotted use (`np.linalg.norm`) may stand for.
    fn resolve(&self, dotted: &[&str]) -> Vec<String> {
        let (base, rest) = (dotted[0], &dotted[1..]);
        let join = |prefix: &str| {
            let mut out = prefix.to_string();
            for segment in rest {
                out.push('.');
                out.push_str(segment);
            }
            out
        };
        match self.bindings.names.get(base) {
            Some(targets) => targets.iter().map(|t| join(t)).collect(),
            None => self.bindings.star_modules.iter().map(|m| join(&format!("{m}.{base}"))).collect(),
        }
    }

    fn uses_in_stmt(&self, stmt: &Stmt) -> BTreeSet<String> {
        let mut uses = Uses { matcher: self, found: BTreeSet::new(), containers: Default::default() };
        uses.visit_stmt(stmt);
        uses.found
    }
}

struct Uses<'m, 'b> {
    matcher: &'m Matcher<'b>,
    found: BTreeSet<String>,
    /// Names the unit binds to a built-in container (`out = []`, `seen = set()`): their
    /// methods (`out.append`) are not the library's.
    containers: std::collections::HashSet<String>,
}

/// A list, dict, set or tuple display or comprehension, or a call of `list`, `dict`, `set`,
/// `tuple`, `sorted`.
fn is_builtin_container(expr: &Expr) -> bool {
    match expr {
        Expr::List(_) | Expr::ListComp(_) | Expr::Dict(_) | Expr::DictComp(_) | Expr::Set(_) | Expr::SetComp(_) => true,
        Expr::Tuple(_) => true,
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Name(n) if matches!(n.id.as_str(), "list" | "dict" | "set" | "tuple" | "sorted"))
        }
        _ => false,
    }
}

impl Uses<'_, '_> {
    fn check(&mut self, qualified: &str) {
        if let Some(pattern) = self.matcher.names.match_qualified(qualified, self.matcher.library) {
            self.found.insert(pattern);
        }
    }
}

/// `a.b.c` as `["a", "b", "c"]` when the chain ends in a plain name.
fn dotted(expr: &Expr) -> Option<Vec<&str>> {
    match expr {
        Expr::Name(name) => Some(vec![name.id.as_str()]),
        Expr::Attribute(attr) => {
            let mut out = dotted(&attr.value)?;
            out.push(attr.attr.id.as_str());
            Some(out)
        }
        _ => None,
    }
}

impl<'a> Visitor<'a> for Uses<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    self.check(alias.name.id.as_str());
                }
            }
            Stmt::ImportFrom(from) if from.level == 0 => {
                if let Some(module) = &from.module {
                    self.check(module.id.as_str());
                    for alias in &from.names {
                        if alias.name.id.as_str() != "*" {
                            self.check(&format!("{}.{}", module.id, alias.name.id));
                        }
                    }
                }
            }
            _ => {
                if !self.matcher.names.members.is_empty() {
                    let (targets, value): (&[Expr], Option<&Expr>) = match stmt {
                        Stmt::Assign(a) => (&a.targets, Some(&a.value)),
                        Stmt::AnnAssign(a) => (std::slice::from_ref(&*a.target), a.value.as_deref()),
                        _ => (&[], None),
                    };
                    if let Some(value) = value {
                        for target in targets {
                            if let Expr::Name(name) = target {
                                if is_builtin_container(value) {
                                    self.containers.insert(name.id.to_string());
                                } else {
                                    self.containers.remove(name.id.as_str());
                                }
                            }
                        }
                    }
                }
                stacker::maybe_grow(64 * 1024, 1024 * 1024, || visitor::walk_stmt(self, stmt))
            }
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(_) | Expr::Attribute(_) => {
                if let Some(chain) = dotted(expr) {
                    for qualified in self.matcher.resolve(&chain) {
                        self.check(&qualified);
                    }
                }
                if let Expr::Attribute(attr) = expr
                    && self.matcher.names.members.contains(attr.attr.id.as_str())
                {
                    // The receiver's type is unknown; only a receiver that resolves to an import
                    // of something else rules the member out.
                    let foreign = is_builtin_container(&attr.value)
                        || matches!(&*attr.value, Expr::Name(n) if self.containers.contains(n.id.as_str()))
                        || dotted(&attr.value).is_some_and(|chain| {
                            let resolved = self.matcher.resolve(&chain);
                            !resolved.is_empty() && resolved.iter().all(|q| !self.matcher.library.owns(q))
                        });
                    if !foreign {
                        self.found.insert(format!(".{}", attr.attr.id));
                    }
                }
            }
            Expr::Call(call) if !self.matcher.names.keywords.is_empty() => {
                let into_library = dotted(&call.func)
                    .is_some_and(|chain| self.matcher.resolve(&chain).iter().any(|q| self.matcher.library.owns(q)));
                if into_library {
                    for keyword in &call.arguments.keywords {
                        if let Some(arg) = &keyword.arg
                            && self.matcher.names.keywords.contains(arg.id.as_str())
                        {
                            self.found.insert(format!("{}=", arg.id));
                        }
                    }
                }
            }
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || visitor::walk_expr(self, expr));
    }
}

struct UnitCollector<'s, 'm, 'b> {
    source: &'s str,
    starts: &'s [usize],
    matcher: &'m Matcher<'b>,
    units: Vec<Unit>,
}

impl UnitCollector<'_, '_, '_> {
    fn body(&mut self, body: &[Stmt], in_class: bool) {
        for stmt in body {
            match stmt {
                Stmt::ClassDef(class) => {
                    let mut header =
                        Uses { matcher: self.matcher, found: BTreeSet::new(), containers: Default::default() };
                    for decorator in &class.decorator_list {
                        header.visit_decorator(decorator);
                    }
                    if let Some(arguments) = &class.arguments {
                        header.visit_arguments(arguments);
                    }
                    if header.found.is_empty() {
                        self.body(&class.body, true);
                    } else {
                        let start = class.decorator_list.first().map_or(stmt.start(), |d| d.start()).to_usize();
                        self.push(UnitKind::Class, Some(class.name.id.to_string()), start, stmt, header.found);
                    }
                }
                Stmt::FunctionDef(function) => {
                    let found = self.matcher.uses_in_stmt(stmt);
                    if !found.is_empty() {
                        let start = function.decorator_list.first().map_or(stmt.start(), |d| d.start()).to_usize();
                        let kind = if in_class { UnitKind::Method } else { UnitKind::Function };
                        self.push(kind, Some(function.name.id.to_string()), start, stmt, found);
                    }
                }
                _ => {
                    let found = self.matcher.uses_in_stmt(stmt);
                    if !found.is_empty() {
                        let kind = match (in_class, stmt) {
                            (true, _) => UnitKind::ClassStatement,
                            (false, Stmt::Import(_) | Stmt::ImportFrom(_)) => UnitKind::Import,
                            (false, _) => UnitKind::Statement,
                        };
                        self.push(kind, None, stmt.start().to_usize(), stmt, found);
                    }
                }
            }
        }
    }

    fn push(&mut self, kind: UnitKind, name: Option<String>, start: usize, stmt: &Stmt, found: BTreeSet<String>) {
        let end = stmt.end().to_usize();
        let first = line_of(self.starts, start);
        let last = line_of(self.starts, end.saturating_sub(1).max(start));
        let line_start = self.starts[first - 1];
        let prefix = &self.source[line_start..start];
        let line_end = self.source[end..].find('\n').map_or(self.source.len(), |i| end + i);
        let after = self.source[end..line_end].trim_start_matches([' ', '\t', '\x0c', '\r']);
        let shares_line = !prefix.chars().all(|c| c == ' ' || c == '\t' || c == '\x0c')
            || !(after.is_empty() || after.starts_with('#'));
        let indent = if shares_line { String::new() } else { prefix.to_string() };
        self.units.push(Unit {
            kind,
            name,
            range: start..end,
            lines: (first, last),
            indent,
            matched: found.into_iter().collect(),
            shares_line,
        });
    }
}

/// After the leading imports (a docstring and `__future__` imports may come first), at the
/// start of the next line.
fn import_insert_point(source: &str, body: &[Stmt]) -> usize {
    let mut after: Option<usize> = None;
    for (i, stmt) in body.iter().enumerate() {
        let is_docstring = i == 0 && matches!(stmt, Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_)));
        if is_docstring || matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            after = Some(stmt.end().to_usize());
        } else {
            break;
        }
    }
    match after {
        None => 0,
        Some(end) => source[end..].find('\n').map_or(source.len(), |i| end + i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(source: &str, apis: &[&str], library: &str) -> Vec<(UnitKind, Option<String>, String)> {
        let library = Library::resolve(library).unwrap();
        let mut names = AffectedNames::default();
        for api in apis {
            assert!(names.add(api, &library));
        }
        scan(source, &names, &library)
            .unwrap()
            .units
            .into_iter()
            .map(|u| (u.kind, u.name, source[u.range].to_string()))
            .collect()
    }

    #[test]
    fn aliases_and_from_imports_resolve() {
        let src = "import numpy as np\nfrom numpy import trapz as tz\nimport numpy\n\na = np.trapz([1, 2])\nb = tz([1])\nc = numpy.trapz([3])\nd = np.trapezoid([1])\n";
        let found = units(src, &["numpy.trapz"], "numpy");
        let texts: Vec<&str> = found.iter().map(|u| u.2.as_str()).collect();
        assert_eq!(
            texts,
            ["from numpy import trapz as tz", "a = np.trapz([1, 2])", "b = tz([1])", "c = numpy.trapz([3])"]
        );
        assert_eq!(found[0].0, UnitKind::Import);
    }

    #[test]
    fn attribute_chains_resolve_through_submodule_aliases() {
        let src = "import jax.numpy as jnp\nimport jax\nx = jnp.round_(1.5)\ny = jax.numpy.round_(2.5)\nz = jnp.round(1.5)\nimport scipy.linalg\nw = scipy.linalg.lstsq\n";
        let texts: Vec<String> = units(src, &["jnp.round_"], "jax").into_iter().map(|u| u.2).collect();
        assert_eq!(texts, ["x = jnp.round_(1.5)", "y = jax.numpy.round_(2.5)"]);
        let texts: Vec<String> = units(
            "from matplotlib.tri.triangulation import Triangulation\nt = Triangulation(x, y)\n",
            &["matplotlib.tri.triangulation"],
            "matplotlib",
        )
        .into_iter()
        .map(|u| u.2)
        .collect();
        assert_eq!(texts, ["from matplotlib.tri.triangulation import Triangulation", "t = Triangulation(x, y)"]);
    }

    #[test]
    fn nested_functions_make_the_outer_function_the_unit_and_methods_are_units() {
        let src = "import numpy as np\n\n@decorate\ndef outer():\n    def inner():\n        return np.trapz([1])\n    return inner\n\nclass A:\n    k = np.trapz\n\n    @staticmethod\n    def m(self):\n        return np.trapz([2])\n\n    def other(self):\n        return 1\n";
        let found = units(src, &["numpy.trapz"], "numpy");
        assert_eq!(found.len(), 3);
        assert_eq!((found[0].0, found[0].1.as_deref()), (UnitKind::Function, Some("outer")));
        assert!(found[0].2.starts_with("@decorate\ndef outer():"));
        assert_eq!(found[1].0, UnitKind::ClassStatement);
        assert_eq!((found[2].0, found[2].1.as_deref()), (UnitKind::Method, Some("m")));
        assert!(found[2].2.starts_with("@staticmethod\n    def m(self):"));
    }

    #[test]
    fn members_keywords_and_star_imports() {
        let src = "import pandas as pd\nimport os\ndf = pd.DataFrame()\ndf2 = df.append(x)\np = os.path.append\n[].append(1)\ndef f():\n    out = []\n    out.append(1)\n";
        let texts: Vec<String> = units(src, &["pandas.DataFrame.append"], "pandas").into_iter().map(|u| u.2).collect();
        assert_eq!(texts, ["df2 = df.append(x)"]);
        let src = "import seaborn as sns\nsns.barplot(data=d, ci=68)\nsns.lineplot(data=d)\nf(ci=3)\n";
        let texts: Vec<String> = units(src, &["ci"], "seaborn").into_iter().map(|u| u.2).collect();
        assert_eq!(texts, ["sns.barplot(data=d, ci=68)"]);
        let src = "from numpy import *\nx = trapz([1])\ny = sum([1])\n";
        let texts: Vec<String> = units(src, &["numpy.trapz"], "numpy").into_iter().map(|u| u.2).collect();
        assert_eq!(texts, ["x = trapz([1])"]);
    }

    #[test]
    fn files_without_the_library_are_not_parsed_and_bad_files_say_where() {
        let library = Library::resolve("numpy").unwrap();
        let mut names = AffectedNames::default();
        names.add("numpy.trapz", &library);
        let s = scan("def broken(:\n", &names, &library).unwrap();
        assert!(!s.parsed);
        let e = scan("import numpy\nx = (\n", &names, &library).unwrap_err();
        assert_eq!(e.line, 3);
        let e = scan("import numpy\ndef f(:\n  pass\n", &names, &library).unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));
    }

    #[test]
    fn shared_lines_are_flagged_and_insert_point_follows_imports() {
        let library = Library::resolve("numpy").unwrap();
        let mut names = AffectedNames::default();
        names.add("numpy.trapz", &library);
        let src =
            "\"\"\"Doc.\"\"\"\nimport numpy as np\nimport os\n\na = 1; b = np.trapz(x)\nc = np.trapz(y)  # comment\n";
        let s = scan(src, &names, &library).unwrap();
        assert!(s.units[0].shares_line);
        assert!(!s.units[1].shares_line);
        assert_eq!(&src[s.import_insert_at..s.import_insert_at + 1], "\n");
        assert_eq!(s.imports.len(), 2);
    }
}
