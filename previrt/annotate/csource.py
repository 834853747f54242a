"""The C source pass: page-table-entry stores and loads become calls to padded, recorded accessors.

`previrt cc` runs it on the preprocessed text of each .c file, between the preprocessor and `gcc -S`.
Every access *through memory* whose type is one of the page-table-entry typedef names (default
`pte_t pde_t`; `-previrt-pte-types=a,b` or $PREVIRT_PTE_TYPES) is rewritten, in place:

    *pte = v            ->  __previrt_pte_store(&(*pte), (v))
    x = pgdir[i]        ->  x = ((unsigned int)__previrt_pte_load(&(pgdir[i])))
    pt[i] |= m          ->  ({ volatile void *__pv_p1 = (volatile void *)&(pt[i]); unsigned int __pv_v1 =
                               (unsigned int)((unsigned int)__previrt_pte_load(__pv_p1) | (m));
                               __previrt_pte_store(__pv_p1, __pv_v1); __pv_v1; })   (one line)
    pt[i]++, --*pte     ->  the same through one temporary pointer (postfix yields the old value)

"Through memory" is a dereference `*p`, a subscript `p[i]`, `p->f`, and `s.f` of such a memory
lvalue.  A plain variable of a pte type (local, parameter, global scalar) is not page-table memory and
stays as it is; so does an lvalue under `&`, in `sizeof`/`typeof`/`__alignof__` or in asm operands.
Expression types come from the declarations in scope (typedef chains, globals, parameters, locals in
nested blocks, struct/union members, function return types, casts, pointer arithmetic, ternaries);
an expression whose type is not known is never a site.

Decisions:
* The text is spliced at the extents of the rewritten expressions (token positions recorded while
  pycparserext's GNU parser reads it), so everything else stays byte for byte, line markers included,
  and no rewrite adds a line: gcc's own errors and the debug lines name the original file:line.
* A text that does not mention a pte type name is returned unchanged and not even parsed (`previrt cc`
  runs once per file; exotic GNU C elsewhere does not break builds).  So is a text without sites.
* The accessors (ACCESSORS) are pasted once at the top of a rewritten text, behind their own line
  marker, followed by a marker that restores the file's line numbering.  Each is an always-inline
  function whose inline asm is a padded site with fixed registers (a hypervisor's template relies on
  them): pte_store `movl %edx,(%eax)`, pte_load `movl (%eax),%edx`, `.nops` to the row's site size,
  and a `.previrt.sites` record (flags FLAG_SOURCE_PASS) in previrt.sites' format.  Its labels are the
  numeric local labels 97711..97713, apart from the asm pass's 97701..97703; the asm pass finds the
  record and leaves the site alone.  The asm is `asm inline`, so gcc counts it as one instruction when
  it decides what to inline (its record lines would otherwise make it look large and change inlining
  against the native build); it names the memory it touches ("=m"/"m") instead of clobbering all of
  it, and a load is not volatile: gcc may reuse it while nothing stores to the entry, as a plain load.
* A pte type must be a 4-byte integer type (i386 non-PAE paging): anything else is an error naming
  the file:line of the first access."""

from __future__ import annotations

import re

from previrt import sites
from previrt.errors import PrevirtError
from previrt.isa import i386

PTE_TYPES_ENV = "PREVIRT_PTE_TYPES"
PTE_TYPES_OPTION = "-previrt-pte-types="
DEFAULT_PTE_TYPES = ("pte_t", "pde_t")
SITE_LABELS = ("97711", "97712", "97713")  # start, instruction end, site end (the asm pass uses 977x1..3)


def pte_types(spec: str | None) -> tuple[str, ...]:
    """Type names from "a,b" (commas or spaces); the defaults for None."""
    if spec is None:
        return DEFAULT_PTE_TYPES
    names = tuple(n for n in re.split(r"[,\s]+", spec) if n)
    for n in names:
        if not re.fullmatch(r"[A-Za-z_]\w*", n):
            raise PrevirtError(f"{n!r} is not a C type name ({PTE_TYPES_OPTION} / ${PTE_TYPES_ENV})")
    return names


# ---- the accessors ----------------------------------------------------------------------------------

def _site_asm(kind: int) -> str:
    """The asm template (a C string body, escaped) of one accessor's site."""
    row = i386.row(kind)
    s, i, e = SITE_LABELS
    insn = {"pte_store": "movl %%edx,(%%eax)", "pte_load": "movl (%%eax),%%edx"}[row.name]
    lines = [f"{s}:", f"\t{insn}", f"{i}:", "\t.arch .nop", f"\t.nops {row.site_size - len(row.original)}, 11",
             f"{e}:", *sites.gas_record(f"{s}b", f"{e}b", f"{i}b", kind, flags=sites.FLAG_SOURCE_PASS)]
    return "\\n".join(x.replace('"', '\\"').replace("\t", "\\t") for x in lines)


def accessors() -> str:
    """C definitions of __previrt_pte_store and __previrt_pte_load (one line each)."""
    store, load = i386.row_by_name("pte_store"), i386.row_by_name("pte_load")
    return (
        "static inline __attribute__((__always_inline__, __unused__, __artificial__)) void "
        "__previrt_pte_store(volatile void *__p, unsigned int __v) "
        f'{{ __asm__ __inline__ __volatile__("{_site_asm(store.kind)}" : "=m"(*(volatile unsigned int *)__p) '
        ': "a"(__p), "d"(__v)); }\n'
        "static inline __attribute__((__always_inline__, __unused__, __artificial__)) unsigned int "
        "__previrt_pte_load(const volatile void *__p) "
        f'{{ unsigned int __v; __asm__ __inline__("{_site_asm(load.kind)}" : "=d"(__v) : "a"(__p), '
        '"m"(*(const volatile unsigned int *)__p)); return __v; }\n')


# ---- line markers -----------------------------------------------------------------------------------

_MARKER = re.compile(r'[ \t]*#[ \t]*(?:line[ \t]+)?(\d+)(?:[ \t]+"((?:[^"\\\n]|\\.)*)")?')
_DIRECTIVE_LINE = re.compile(r"(?m)^[ \t]*#.*$")


class _Lines:
    """Physical line (1-based) of the preprocessed text -> (file, line) of the original source."""

    def __init__(self, text: str, filename: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.origin: list[tuple[str, int]] = []
        file, line = filename, 1
        for start in self.starts:
            self.origin.append((file, line))
            m = _MARKER.match(text, start)
            if m and text[start:m.end()].lstrip().startswith("#"):
                line = int(m.group(1))
                file = _unescape(m.group(2)) if m.group(2) is not None else file
            else:
                line += 1

    def where(self, lineno: int) -> str:
        file, line = self.origin[max(0, min(lineno, len(self.origin)) - 1)]
        return f"{file}:{line}"

    def offset(self, lineno: int, column: int) -> int:
        return self.starts[lineno - 1] + column - 1


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


# ---- the parser: pycparserext's GNU parser, recording where each expression starts and ends ------------

def _parser_class():
    from pycparser import c_ast
    from pycparserext.ext_c_parser import GnuCParser

    class Parser(GnuCParser):
        """Records extents[id(node)] = (first token index, last token index) of the expressions the
        pass may rewrite: unary, postfix and assignment expressions (innermost: parentheses around an
        expression are not part of its extent)."""

        def parse(self, text, filename=""):
            self.extents, self._keep = {}, []
            return super().parse(text, filename, initial_type_symbols={"__builtin_va_list"})

        def _record(self, node, start):
            if node is not None and id(node) not in self.extents:
                self.extents[id(node)] = (start, self._tokens._index - 1)
                self._keep.append(node)  # ids stay unique while the extents are used
            return node

        def _parse_unary_expression(self):
            start = self._mark()
            return self._record(super()._parse_unary_expression(), start)

        def _parse_assignment_expression(self):
            start = self._mark()
            return self._record(super()._parse_assignment_expression(), start)

        def _parse_postfix_expression(self):
            # pycparser's postfix_expression, with the extent of every node it builds
            if self._peek_type() == "__BUILTIN_TYPES_COMPATIBLE_P":
                return super()._parse_postfix_expression()
            start = self._mark()
            result = self._try_parse_paren_type_name()
            if result is not None:
                typ, mark, _ = result
                if self._accept("LBRACE"):
                    init = self._parse_initializer_list()
                    self._accept("COMMA")
                    self._expect("RBRACE")
                    return self._record(c_ast.CompoundLiteral(typ, init), start)
                self._reset(mark)
            expr = self._parse_primary_expression()
            while True:
                if self._accept("LBRACKET"):
                    sub = self._parse_expression()
                    self._expect("RBRACKET")
                    expr = self._record(c_ast.ArrayRef(expr, sub, expr.coord), start)
                elif self._accept("LPAREN"):
                    args = None
                    if self._peek_type() == "RPAREN":
                        self._advance()
                    else:
                        args = self._parse_argument_expression_list()
                        self._expect("RPAREN")
                    expr = self._record(c_ast.FuncCall(expr, args, expr.coord), start)
                elif self._peek_type() in ("PERIOD", "ARROW"):
                    op_tok = self._advance()
                    name_tok = self._advance()
                    if name_tok.type not in ("ID", "TYPEID"):
                        self._parse_error("Invalid struct reference", self._tok_coord(name_tok))
                    field = c_ast.ID(name_tok.value, self._tok_coord(name_tok))
                    expr = self._record(c_ast.StructRef(expr, op_tok.value, field, expr.coord), start)
                elif self._peek_type() in ("PLUSPLUS", "MINUSMINUS"):
                    tok = self._advance()
                    expr = self._record(c_ast.UnaryOp("p" + tok.value, expr, expr.coord), start)
                else:
                    return expr

    return Parser


# ---- types ----------------------------------------------------------------------------------------
#
# ("name", typedef name) | ("int", "unsigned int") | ("ptr", T) | ("array", T) | ("func", return T)
# | ("struct", key) | None (not known)

_BASE_WORDS = frozenset("void char short int long signed unsigned _Bool float double _Complex __int128 "
                        "__signed__ __signed __unsigned__".split())
_SIZES = {"char": 1, "short": 2, "_Bool": 1, "float": 4, "double": 8, "void": 0, "__int128": 16}
_INT = ("int", "int")
_UNEVALUATED = frozenset({"sizeof", "_Alignof", "__alignof__", "__alignof", "alignof"})


def _int_size(names: str) -> int | None:
    words = names.split()
    if "float" in words or "double" in words or "_Complex" in words or "void" in words:
        return None
    if words.count("long") == 2:
        return 8
    for w, size in _SIZES.items():
        if w in words:
            return size
    return 4


class _Rewriter:
    def __init__(self, text: str, filename: str, names: tuple[str, ...]):
        self.text, self.filename, self.names = text, filename, frozenset(names)
        self.lines = _Lines(text, filename)
        self.scopes: list[dict] = [{}]
        self.structs: dict = {}  # key -> {member: type}
        self.edits: list = []  # (offset, rank, order, end, text)
        self.n = 0

    # ---- parsing ----

    def parse(self):
        from pycparser.c_parser import ParseError

        sanitized = _without_va_arg_types(_DIRECTIVE_LINE.sub(lambda m: " " * len(m.group()), self.text))
        parser = _parser_class()()
        try:
            ast = parser.parse(sanitized, self.filename)
        except ParseError as e:
            m = re.search(r":(\d+)(?::\d+)?: (.*)$", str(e), re.S)
            if m:
                line, message = int(m.group(1)), m.group(2)
            else:  # no position in the message: the token the parser stopped at
                stream = parser._tokens
                at = stream._buffer[min(stream._index, len(stream._buffer)) - 1] if stream._buffer else None
                line = at.lineno if at is not None else len(self.lines.starts)
                message = str(e).rsplit(": ", 1)[-1]
            raise PrevirtError(f"the C source pass cannot parse this: {message}",
                               where=self.lines.where(line)) from None
        self.tokens, self.extents = parser._tokens._buffer, parser.extents
        return ast

    def tok_offset(self, index: int) -> int:
        tok = self.tokens[index]
        return self.lines.offset(tok.lineno, tok.column)

    def tok_end(self, index: int) -> int:
        return self.tok_offset(index) + len(self.tokens[index].value)

    def where(self, node) -> str:
        ext = self.extents.get(id(node))
        line = self.tokens[ext[0]].lineno if ext else (node.coord.line if node.coord else 1)
        return self.lines.where(line)

    # ---- scopes and types ----

    def lookup(self, name: str):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def typedef(self, name: str):
        got = self.lookup(name)
        return got[1] if got and got[0] == "typedef" else None

    def convert(self, t):
        from pycparser import c_ast
        from pycparserext import ext_c_parser as ext

        if isinstance(t, (c_ast.TypeDecl, c_ast.Typename)):
            return self.convert(t.type)
        if isinstance(t, c_ast.IdentifierType):
            other = [n for n in t.names if n not in _BASE_WORDS]
            if other:
                return ("name", other[0])
            return ("int", " ".join(t.names))
        if isinstance(t, (c_ast.Struct, c_ast.Union)):
            key = t.name if t.name else ("anon", id(t))
            if t.decls is not None:
                self.structs[key] = {d.name: self.convert(d.type) for d in t.decls
                                     if isinstance(d, c_ast.Decl) and d.name}
                for d in t.decls:  # anonymous struct/union members: their members are the outer's
                    if isinstance(d, c_ast.Decl) and not d.name:
                        inner = self.resolve(self.convert(d.type))
                        if inner and inner[0] == "struct":
                            self.structs[key].update(self.structs.get(inner[1], {}))
            return ("struct", key)
        if isinstance(t, c_ast.Enum):
            return _INT
        if isinstance(t, c_ast.PtrDecl):
            inner = self.convert(t.type)
            return ("ptr", inner)
        if isinstance(t, c_ast.ArrayDecl):
            return ("array", self.convert(t.type))
        if isinstance(t, (c_ast.FuncDecl, ext.FuncDeclExt)):
            return ("func", self.convert(t.type))
        return None

    def resolve(self, t, seen=0):
        while t is not None and t[0] == "name" and seen < 64:
            t, seen = self.typedef(t[1]), seen + 1
        return t

    def pte_name(self, t) -> str | None:
        """The pte type name `t` is (directly or through a typedef chain), or None."""
        for _ in range(64):
            if t is None or t[0] != "name":
                return None
            if t[1] in self.names:
                return t[1]
            t = self.typedef(t[1])
        return None

    def deref(self, t):
        r = self.resolve(t)
        return r[1] if r and r[0] in ("ptr", "array") else None

    def type_of(self, e):
        from pycparser import c_ast

        k = type(e).__name__
        if isinstance(e, c_ast.ID):
            got = self.lookup(e.name)
            return got[1] if got and got[0] == "var" else None
        if isinstance(e, c_ast.Constant):
            return ("ptr", ("int", "char")) if e.type == "string" else _INT
        if isinstance(e, c_ast.UnaryOp):
            if e.op == "*":
                return self.deref(self.type_of(e.expr))
            if e.op == "&":
                inner = self.type_of(e.expr)
                return ("ptr", inner) if inner is not None else None
            if e.op in _UNEVALUATED or e.op == "!":
                return _INT
            return self.type_of(e.expr)
        if isinstance(e, c_ast.Cast):
            return self.convert(e.to_type)
        if isinstance(e, c_ast.ArrayRef):
            base = self.deref(self.type_of(e.name))
            return base if base is not None else self.deref(self.type_of(e.subscript))
        if isinstance(e, c_ast.StructRef):
            base = self.type_of(e.name)
            base = self.resolve(self.deref(base) if e.type == "->" else base)
            if base and base[0] == "struct":
                return self.structs.get(base[1], {}).get(e.field.name)
            return None
        if isinstance(e, c_ast.FuncCall):
            f = self.resolve(self.type_of(e.name))
            if f and f[0] == "ptr":
                f = self.resolve(f[1])
            return f[1] if f and f[0] == "func" else None
        if isinstance(e, c_ast.BinaryOp):
            if e.op in ("+", "-"):
                left, right = self.type_of(e.left), self.type_of(e.right)
                lp, rp = self.deref(left), self.deref(right)
                if lp is not None and e.op == "-" and rp is not None:
                    return _INT
                if lp is not None:
                    return ("ptr", lp)
                if rp is not None and e.op == "+":
                    return ("ptr", rp)
                return left
            if e.op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
                return _INT
            return self.type_of(e.left)
        if isinstance(e, c_ast.TernaryOp):
            a = self.type_of(e.iftrue) if e.iftrue is not None else self.type_of(e.cond)
            b = self.type_of(e.iffalse)
            if a is None or self.resolve(a) == ("ptr", ("int", "void")):
                return b if b is not None else a
            return a
        if isinstance(e, c_ast.Assignment):
            return self.type_of(e.lvalue)
        if isinstance(e, c_ast.ExprList):
            return self.type_of(e.exprs[-1]) if e.exprs else None
        if isinstance(e, c_ast.CompoundLiteral):
            return self.convert(e.type)
        del k
        return None

    def is_memory(self, e) -> bool:
        from pycparser import c_ast

        if isinstance(e, c_ast.UnaryOp):
            return e.op == "*"
        if isinstance(e, c_ast.ArrayRef):
            return True
        if isinstance(e, c_ast.StructRef):
            return e.type == "->" or self.is_memory(e.name)
        return False

    def site(self, e):
        """(pte type name, C base type) when `e` is a pte access through memory, else None."""
        if not self.is_memory(e) or id(e) not in self.extents:
            return None
        t = self.type_of(e)
        name = self.pte_name(t)
        if name is None:
            return None
        base = self.resolve(t)
        size = _int_size(base[1]) if base and base[0] == "int" else None
        if size != 4:
            what = f"`{base[1]}`" if base and base[0] == "int" else "not an integer type"
            raise PrevirtError(f"page-table entry type {name} is {what}"
                               f"{f' ({size} bytes)' if size else ''}: the previrt pte accessors need a "
                               "4-byte integer type (i386 non-PAE paging)", where=self.where(e))
        return name, base[1]

    # ---- edits ----

    def insert_before(self, index: int, text: str) -> None:
        self.n += 1
        self.edits.append((self.tok_offset(index), 2, self.n, None, text))

    def insert_after(self, index: int, text: str) -> None:
        self.n += 1
        self.edits.append((self.tok_end(index), 0, -self.n, None, text))

    def replace(self, index: int, text: str) -> None:
        self.n += 1
        self.edits.append((self.tok_offset(index), 1, self.n, self.tok_end(index), text))

    def after_parens(self, index: int) -> int:
        """The first token after `index` that is not a closing parenthesis."""
        k = index + 1
        while self.tokens[k].value == ")":
            k += 1
        return k

    def load(self, e, base: str) -> None:
        s, end = self.extents[id(e)]
        self.insert_before(s, f"(({base})__previrt_pte_load(&(")
        self.insert_after(end, ")))")

    def store(self, a, base: str) -> None:
        s, lend = self.extents[id(a.lvalue)]
        op = self.after_parens(lend)
        if self.tokens[op].value != a.op:
            raise PrevirtError(f"the C source pass lost its place at `{self.tokens[op].value}`",
                               where=self.where(a))
        end = self.extents[id(a)][1]
        if a.op == "=":
            self.insert_before(s, "__previrt_pte_store(&(")
            self.replace(op, "), (")
            self.insert_after(end, "))")
            return
        n = self.n
        p, v = f"__pv_p{n}", f"__pv_v{n}"
        self.insert_before(s, f"({{ volatile void *{p} = (volatile void *)&(")
        self.replace(op, f"); {base} {v} = ({base})(({base})__previrt_pte_load({p}) {a.op[:-1]} (")
        self.insert_after(end, f")); __previrt_pte_store({p}, {v}); {v}; }})")

    def step(self, u, base: str) -> None:
        """++/-- on a pte lvalue: load and store through one temporary pointer."""
        s, end = self.extents[id(u)]
        n, op = self.n, u.op[-1]
        p, v = f"__pv_p{n}", f"__pv_v{n}"
        open_ = f"({{ volatile void *{p} = (volatile void *)&("
        if u.op.startswith("p"):  # postfix: the old value
            self.insert_before(s, open_)
            self.replace(end, f"); {base} {v} = ({base})__previrt_pte_load({p}); "
                              f"__previrt_pte_store({p}, ({base})({v} {op} 1)); {v}; }})")
        else:
            self.replace(s, open_)
            self.insert_after(end, f"); {base} {v} = ({base})(({base})__previrt_pte_load({p}) {op} 1); "
                                   f"__previrt_pte_store({p}, {v}); {v}; }})")

    # ---- the walk ----

    def declare(self, decl) -> None:
        from pycparser import c_ast

        if isinstance(decl, c_ast.Typedef):
            self.scopes[-1][decl.name] = ("typedef", self.convert(decl.type))
        elif isinstance(decl, c_ast.Decl):
            t = self.convert(decl.type)
            if decl.name:
                self.scopes[-1][decl.name] = ("var", t)

    def stmt(self, node) -> None:
        from pycparser import c_ast
        from pycparserext import ext_c_parser as ext

        if node is None or isinstance(node, (ext.Asm, c_ast.Pragma, ext.TypeOfExpression,
                                             ext.TypeOfDeclaration, c_ast.Typename)):
            return
        if isinstance(node, _EXPRESSIONS):
            return self.expr(node, True)
        if isinstance(node, c_ast.FuncDef):
            self.declare(node.decl)
            self.scopes.append({})
            ftype = node.decl.type
            args = getattr(ftype, "args", None)
            for p in (args.params if args is not None else []):
                if isinstance(p, c_ast.Decl):
                    self.declare(p)
            for p in node.param_decls or []:
                self.declare(p)
            self.stmt(node.body)
            self.scopes.pop()
        elif isinstance(node, (c_ast.Typedef, c_ast.Decl)):
            self.declare(node)
            if isinstance(node, c_ast.Decl) and node.init is not None and len(self.scopes) > 1:
                self.expr(node.init, True)
        elif isinstance(node, (c_ast.Compound, c_ast.For)):
            self.scopes.append({})
            for child in node:
                self.stmt(child)
            self.scopes.pop()
        else:
            for child in node:
                self.stmt(child)

    def expr(self, e, rvalue: bool) -> None:
        """Walk an expression; `rvalue`: its value is used (a pte lvalue here is loaded)."""
        from pycparser import c_ast

        if e is None:
            return
        if rvalue:
            found = self.site(e)
            if found:
                self.load(e, found[1])
                return self.expr(e, False)
        if isinstance(e, c_ast.Assignment):
            found = self.site(e.lvalue)
            if found:
                self.store(e, found[1])
            self.expr(e.lvalue, False)
            self.expr(e.rvalue, True)
        elif isinstance(e, c_ast.UnaryOp):
            if e.op in _UNEVALUATED:
                return
            if e.op in ("++", "--", "p++", "p--"):
                found = self.site(e.expr)
                if found:
                    self.step(e, found[1])
                self.expr(e.expr, False)
            else:
                self.expr(e.expr, e.op != "&")
        elif isinstance(e, c_ast.StructRef):
            self.expr(e.name, e.type == "->")
        elif isinstance(e, c_ast.Cast):
            self.expr(e.expr, True)
        elif isinstance(e, c_ast.CompoundLiteral):
            self.expr(e.init, True)
        elif isinstance(e, (c_ast.ID, c_ast.Constant)):
            return
        elif isinstance(e, c_ast.Compound):  # a statement expression
            self.stmt(e)
        elif isinstance(e, _EXPRESSIONS):
            for child in e:
                self.expr(child, True)
        else:
            self.stmt(e)

    # ---- the result ----

    def run(self) -> str:
        ast = self.parse()
        for node in ast.ext:
            self.stmt(node)
        if not self.edits:
            return self.text
        out, cursor = [], 0
        for offset, _, _, end, text in sorted(self.edits, key=lambda x: x[:3]):
            out += [self.text[cursor:offset], text]
            cursor = end if end is not None else offset
        out.append(self.text[cursor:])
        return self.with_accessors("".join(out))

    def with_accessors(self, body: str) -> str:
        """The accessors behind their own marker, at the top, and the file's numbering restored."""
        first_end = body.find("\n") + 1
        m = _MARKER.match(body) if body.startswith("#") and first_end else None
        if m:
            head, rest = body[:first_end], body[first_end:]
            file = _unescape(m.group(2)) if m.group(2) is not None else self.filename
            line = int(m.group(1))
        else:
            head, rest, file, line = "", body, self.filename, 1
        block = f'# 1 "{sites.ACCESSOR_FILE}"\n{accessors()}# {line} "{_quote(file)}"\n'
        return head + block + rest


_VA_ARG = re.compile(r"\b__builtin_va_arg\s*\(")


def _without_va_arg_types(text: str) -> str:
    """`__builtin_va_arg(ap, TYPE)` with TYPE blanked to `0` (a type argument pycparser cannot read;
    same length and lines, so every offset stays)."""
    if "__builtin_va_arg" not in text:
        return text
    out, cursor = [], 0
    for m in _VA_ARG.finditer(text):
        depth, k, comma = 1, m.end(), None
        while k < len(text) and depth:
            ch = text[k]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == "," and depth == 1 and comma is None:
                comma = k
            k += 1
        if comma is None or depth or comma < cursor:
            continue
        blank = "".join(c if c == "\n" else " " for c in text[comma + 1:k - 1])
        out += [text[cursor:comma + 1], "0" + blank[1:]]
        cursor = k - 1
    out.append(text[cursor:])
    return "".join(out)


def _expression_classes():
    from pycparser import c_ast

    return (c_ast.ID, c_ast.Constant, c_ast.UnaryOp, c_ast.BinaryOp, c_ast.TernaryOp, c_ast.Assignment,
            c_ast.Cast, c_ast.ArrayRef, c_ast.StructRef, c_ast.FuncCall, c_ast.ExprList, c_ast.CompoundLiteral,
            c_ast.InitList, c_ast.NamedInitializer)


_EXPRESSIONS: tuple = ()


def rewrite_text(text: str, filename: str = "<input>", names: tuple[str, ...] = DEFAULT_PTE_TYPES) -> str:
    """The preprocessed C `text` with its pte accesses through memory made accessor calls; unchanged
    (and not parsed) when it does not mention a pte type name.  Errors name the original file:line."""
    if not names or not re.search(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b", text):
        return text
    global _EXPRESSIONS
    if not _EXPRESSIONS:
        _EXPRESSIONS = _expression_classes()
    return _Rewriter(text, filename, tuple(names)).run()


def rewrite_path(in_path: str, out_path: str, names: tuple[str, ...] = DEFAULT_PTE_TYPES,
                 filename: str | None = None) -> bool:
    """Rewrite a preprocessed file into another; True when anything changed."""
    with open(in_path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        text = f.read()
    result = rewrite_text(text, filename or in_path, names)
    with open(out_path, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
        f.write(result)
    return result is not text


def names_from(env: dict[str, str], option: str | None) -> tuple[str, ...]:
    """The pte type names: the driver option wins over the environment, else the defaults."""
    if option is not None:
        return pte_types(option)
    return pte_types(env.get(PTE_TYPES_ENV)) if env.get(PTE_TYPES_ENV) is not None else DEFAULT_PTE_TYPES


