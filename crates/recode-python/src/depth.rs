//! CPython 3.11's nesting limits, which make `ast.parse` raise `RecursionError` (AST deeper
//! than about 3,000 nodes when converted to Python objects) or `MemoryError` (parser deeper
//! than 6,000 rule calls) instead of answering.

use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    Comprehension, ConversionFlag, ElifElseClause, ExceptHandler, Expr, InterpolatedElement, InterpolatedStringElement,
    Keyword, MatchCase, Mod, Parameter, Parameters, Pattern, Stmt, WithItem,
};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextSize};

use crate::Verdict;

/// AST depth at which CPython 3.11's `ast2obj` raises `RecursionError` (its limit is
/// 3 × the recursion limit, less 3 per Python frame already on the stack; measured 2,985–2,989
/// for `ast.parse` called a few frames deep).
const AST_DEPTH_LIMIT: usize = 2_986;
/// CPython's parser gives up (`MemoryError`) past 6,000 nested rule calls.
const PARSER_LEVEL_LIMIT: usize = 5_965;
/// Parser rule calls per bracket level (an atom in brackets descends the whole precedence
/// ladder again); measured on `(((~~…1)))`.
const LEVELS_PER_BRACKET: usize = 27;

/// Counts nesting the way CPython's AST does (one level per stmt/expr/keyword/comprehension/
/// handler/pattern node, one per `elif` as CPython nests them in `orelse`).
struct Depth<'t> {
    source: &'t str,
    tokens: &'t Tokens,
    depth: usize,
    max_depth: usize,
    max_levels: usize,
    /// Bracket depth before each token start, only when brackets nest deeply enough to matter.
    brackets: Option<&'t [(TextSize, usize)]>,
    /// How many f-string format specs enclose the current replacement field.
    spec_depth: usize,
    /// Found a construct CPython 3.11's parser rejects but ruff's accepts.
    rejected: bool,
}

impl Depth<'_> {
    fn enter(&mut self, at: TextSize) {
        self.depth += 1;
        self.max_depth = self.max_depth.max(self.depth);
        if let Some(b) = self.brackets {
            let i = b.partition_point(|(s, _)| *s <= at);
            let bd = if i == 0 { 0 } else { b[i - 1].1 };
            self.max_levels = self.max_levels.max(self.depth + bd * LEVELS_PER_BRACKET);
        }
    }
    fn nested(&mut self, at: TextSize, f: impl FnOnce(&mut Self)) {
        let saved = self.depth;
        self.enter(at);
        // The AST can be as deep as the input is long; grow the stack on the heap as needed.
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || f(self));
        self.depth = saved;
    }
}

impl<'a> Visitor<'a> for Depth<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        let saved = self.depth;
        // `elif` clauses raise depth cumulatively until the whole `if` is done.
        self.nested(stmt.start(), |v| visitor::walk_stmt(v, stmt));
        self.depth = saved;
    }
    fn visit_elif_else_clause(&mut self, clause: &'a ElifElseClause) {
        if clause.test.is_some() {
            self.enter(clause.start());
        }
        visitor::walk_elif_else_clause(self, clause);
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        // A bare `yield` as a tuple element or operand (`yield , a`, `yield | x`): ruff takes
        // it, CPython needs it parenthesised.
        let operands: &[Expr] = match expr {
            Expr::Tuple(t) => &t.elts,
            Expr::BinOp(b) => std::slice::from_ref(&*b.left),
            Expr::Compare(c) => std::slice::from_ref(&*c.left),
            Expr::BoolOp(b) => &b.values,
            _ => &[],
        };
        for el in operands {
            if matches!(el, Expr::Yield(_) | Expr::YieldFrom(_)) {
                let before = self.tokens.partition_point(|t| t.start() < el.start());
                if self.tokens[..before]
                    .iter()
                    .rev()
                    .find(|t| !t.kind().is_trivia())
                    .is_none_or(|t| t.kind() != TokenKind::Lpar)
                {
                    self.rejected = true;
                }
            }
        }
        self.nested(expr.start(), |v| visitor::walk_expr(v, expr));
    }
    fn visit_keyword(&mut self, k: &'a Keyword) {
        self.nested(k.start(), |v| visitor::walk_keyword(v, k));
    }
    fn visit_comprehension(&mut self, c: &'a Comprehension) {
        self.nested(c.start(), |v| visitor::walk_comprehension(v, c));
    }
    fn visit_except_handler(&mut self, h: &'a ExceptHandler) {
        self.nested(h.start(), |v| visitor::walk_except_handler(v, h));
    }
    fn visit_parameters(&mut self, p: &'a Parameters) {
        self.nested(p.start(), |v| visitor::walk_parameters(v, p));
    }
    fn visit_parameter(&mut self, p: &'a Parameter) {
        self.nested(p.start(), |v| visitor::walk_parameter(v, p));
    }
    fn visit_with_item(&mut self, w: &'a WithItem) {
        self.nested(w.start(), |v| visitor::walk_with_item(v, w));
    }
    fn visit_match_case(&mut self, m: &'a MatchCase) {
        self.nested(m.start(), |v| visitor::walk_match_case(v, m));
    }
    fn visit_pattern(&mut self, p: &'a Pattern) {
        self.nested(p.start(), |v| visitor::walk_pattern(v, p));
    }
    fn visit_interpolated_string_element(&mut self, e: &'a InterpolatedStringElement) {
        let InterpolatedStringElement::Interpolation(el) = e else {
            return;
        };
        // 3.11 compiles `{*a}` as `(*a)` (rejected), allows format specs nested 2 deep, and
        // wants `:` or `}` right after a `!r` conversion.
        if self.spec_depth >= 2
            || matches!(*el.expression, Expr::Starred(_))
            || (el.conversion != ConversionFlag::None && !conversion_closes(self.source, el))
        {
            self.rejected = true;
        }
        self.nested(e.start(), |v| {
            let outer = std::mem::replace(&mut v.spec_depth, 0);
            v.visit_expr(&el.expression);
            v.spec_depth = outer + 1;
            for spec in el.format_spec.iter().flat_map(|f| &f.elements) {
                v.visit_interpolated_string_element(spec);
            }
            v.spec_depth = outer;
        });
    }
}

/// Whether the text after an interpolation's `!x` conversion is `:` or `}` (3.11 allows no
/// white space there).
fn conversion_closes(source: &str, el: &InterpolatedElement) -> bool {
    let text = source.get(el.expression.end().to_usize()..el.end().to_usize()).unwrap_or("");
    let Some(bang) = text.find('!') else {
        return true;
    };
    let mut rest = text[bang + 1..].chars();
    rest.next();
    matches!(rest.next(), Some(':' | '}'))
}

/// Deepest AST nesting, CPython-style (the module counts as one), deepest estimated parser
/// level, and whether an f-string construct 3.11 rejects was seen.
fn walk(source: &str, parsed: &Parsed<Mod>) -> (usize, usize, bool) {
    let mut bd = 0usize;
    let mut deepest = 0usize;
    let mut marks = Vec::new();
    for t in parsed.tokens().iter() {
        match t.kind() {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => bd += 1,
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => bd = bd.saturating_sub(1),
            _ => continue,
        }
        deepest = deepest.max(bd);
        marks.push((t.end(), bd));
    }
    let mut v = Depth {
        source,
        tokens: parsed.tokens(),
        depth: 1,
        max_depth: 1,
        max_levels: 0,
        // Only brackets nested this deep can push the parser past its limit first.
        brackets: (deepest >= 100).then_some(&marks[..]),
        spec_depth: 0,
        rejected: false,
    };
    if let Mod::Module(m) = parsed.syntax() {
        v.visit_body(&m.body);
    }
    (v.max_depth, v.max_levels, v.rejected)
}

/// Verdict for a source ruff accepts: `Invalid` for the f-string forms 3.11 rejects,
/// `TooComplex` where CPython would run out of nesting room, else `Valid`.
pub(crate) fn verdict(source: &str, parsed: &Parsed<Mod>) -> Verdict {
    let (depth, levels, rejected) = walk(source, parsed);
    if rejected {
        Verdict::Invalid
    } else if depth > AST_DEPTH_LIMIT || levels > PARSER_LEVEL_LIMIT {
        Verdict::TooComplex
    } else {
        Verdict::Valid
    }
}

/// Drops a parse result whose AST may be nested far deeper than the thread's stack allows
/// (drop glue recurses once per level), on a stack sized from the input length.
pub(crate) fn drop_deep<T>(parsed: Parsed<T>, source_len: usize) {
    // Each nesting level takes at least one source byte; 512 bytes of stack per level covers
    // the drop glue even unoptimised. Only allocates when the current stack is too short.
    let need = source_len.saturating_mul(512).saturating_add(256 * 1024);
    if need <= 1 << 31 {
        stacker::maybe_grow(need, need, move || drop(parsed));
    } else {
        // Multi-megabyte input: not worth a multi-gigabyte stack; leak rather than crash.
        std::mem::forget(parsed);
    }
}
