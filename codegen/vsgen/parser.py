"""Parser: tokens -> syntax tree (vsgen.ast).  Grammar in docs/schema.md."""

from typing import List, Optional

from . import ast
from .errors import Loc, SchemaError
from .lexer import Token, tokenize

HOOKS = ("pre_save", "post_save", "pre_load", "post_load")
# Words that start a member of their own; types may not take these names.
MEMBER_WORDS = ("subsection", "unused", "validate", "local", "buffer", "bitmap",
                "qtailq", "qlist", "gtree", "tmp")
KEYWORDS = set(MEMBER_WORDS) | set(HOOKS) | {
    "type", "codec", "include", "version", "minimum", "cstruct", "header", "tmp_for", "nested",
    "needed", "since", "if", "default", "equal", "le", "cname", "max", "ctype", "size",
} | set(ast.SCALARS)

# Limits that keep the generator's recursion bounded (and schemas readable).
MAX_EXPR_NESTING = 32        # parentheses and unary operators inside each other
MAX_EXPR_DEPTH = 256         # depth of an expression's tree (long chains of operators)
MAX_SUBSECTION_NESTING = 16

# Binary operators by precedence, loosest first (C's order).
BINARY_LEVELS = [
    ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", "<=", ">", ">="],
    ["<<", ">>"], ["+", "-"], ["*", "/", "%"],
]


class Parser:
    def __init__(self, src: str, path: str) -> None:
        self.path = path
        self.toks: List[Token] = tokenize(src, path)
        self.i = 0
        self.nesting = 0            # of parentheses and unary operators, while parsing
        self.sub_nesting = 0        # of subsections, while parsing

    # ---- token helpers ----------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def at(self, text: str) -> bool:
        return self.tok.kind in ("punct", "ident") and self.tok.text == text

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.next()
            return True
        return False

    def expect(self, text: str, what: Optional[str] = None) -> Token:
        if not self.at(text):
            self.fail(f"expected '{text}'" + (f" {what}" if what else ""))
        return self.next()

    def describe(self, t: Token) -> str:
        if t.kind == "eof":
            return "end of file"
        if t.kind == "string":
            return f'"{t.text}"'
        return f"'{t.text}'"

    def fail(self, message: str, tok: Optional[Token] = None) -> None:
        t = tok or self.tok
        raise SchemaError(t.loc, f"{message}, found {self.describe(t)}")

    def ident(self, what: str) -> Token:
        if self.tok.kind != "ident":
            self.fail(f"expected {what}")
        return self.next()

    def name(self, what: str) -> Token:
        t = self.ident(what)
        if t.text in KEYWORDS:
            raise SchemaError(t.loc, f"'{t.text}' is a reserved word and cannot name {what}")
        return t

    def member_name(self, what: str) -> Token:
        """A member's name: any identifier (schema words are contextual)."""
        return self.ident(what)

    def once(self, seen: dict, t: Token) -> None:
        """Refuse a clause given twice (@seen maps clause words to their first token)."""
        if t.text in seen:
            raise SchemaError(t.loc, f"'{t.text}' given twice (first at line "
                              f"{seen[t.text].loc.line})")
        seen[t.text] = t

    def string(self, what: str) -> Token:
        if self.tok.kind != "string":
            self.fail(f"expected {what} (a string)")
        return self.next()

    def integer(self, what: str, signed: bool = False) -> Token:
        minus = self.tok if signed and self.at("-") else None
        if minus:
            self.next()
        if self.tok.kind != "int":
            self.fail(f"expected {what} (an integer)")
        t = self.next()
        if minus:
            return Token("int", "-" + t.text, minus.loc, -t.value)
        return t

    # ---- file -------------------------------------------------------------

    def parse_file(self) -> ast.SchemaFile:
        f = ast.SchemaFile(self.path, [], [], [])
        while self.tok.kind != "eof":
            if self.at("include"):
                self.next()
                name = self.string("a schema file name")
                if not name.text:
                    raise SchemaError(name.loc, "the included file name is empty")
                f.includes.append(ast.Include(name.loc, name.text))
                self.expect(";", "after the included file name")
            elif self.at("codec"):
                f.codecs.append(self.parse_codec())
            elif self.at("type"):
                f.types.append(self.parse_type())
            else:
                self.fail("expected 'type', 'codec' or 'include'")
        return f

    def parse_codec(self) -> ast.CodecDecl:
        self.next()
        name = self.name("a codec")
        info = self.string("the codec's info name").text
        self.expect("ctype", "and the codec's C type")
        ctype = self.string("the codec's C type")
        size = 0
        size_loc = None
        if self.accept("size"):
            t = self.integer("the codec's wire size")
            size, size_loc = t.value, t.loc
        self.expect(";", "after the codec")
        c = ast.CodecDecl(name.loc, name.text, info, ctype.text, size)
        c.ctype_loc = ctype.loc  # type: ignore[attr-defined]
        c.size_loc = size_loc  # type: ignore[attr-defined]
        return c

    def parse_hook(self, hooks: ast.Hooks, seen: dict) -> bool:
        for h in HOOKS:
            if self.at(h):
                self.once(seen, self.next())
                fn = self.name("a hook function")
                setattr(hooks, h, fn.text)
                hook_locs = getattr(hooks, "locs", None)
                if hook_locs is None:
                    hook_locs = {}
                    hooks.locs = hook_locs  # type: ignore[attr-defined]
                hook_locs[h] = fn.loc
                return True
        return False

    def parse_version_clause(self, seen: dict, locs: dict) -> int:
        """`version N` or `minimum N` (the current token), once each."""
        word = self.next()
        self.once(seen, word)
        v = self.integer("a version" if word.text == "version" else "a minimum version")
        locs[word.text] = v.loc
        return v.value

    def parse_type(self) -> ast.TypeDecl:
        self.next()
        name = self.name("a type")
        wire = self.string("the type's wire name")
        cstruct = header = tmp_for = None
        tmp_loc = None
        nested = False
        hooks = ast.Hooks()
        seen: dict = {}
        locs: dict = {}
        versions: dict = {}
        while not self.at("{"):
            t = self.tok
            if self.at("version") or self.at("minimum"):
                versions[t.text] = self.parse_version_clause(seen, locs)
            elif self.at("cstruct"):
                self.once(seen, self.next())
                c = self.string("a C struct name")
                self.expect("header", "after cstruct")
                h = self.string("a header file")
                cstruct, header = c.text, h.text
                locs["cstruct"], locs["header"] = c.loc, h.loc
            elif self.at("tmp_for"):
                self.once(seen, self.next())
                p = self.name("the parent type")
                tmp_loc, tmp_for = p.loc, p.text
            elif self.at("nested"):
                self.once(seen, self.next())
                nested = True
            elif not self.parse_hook(hooks, seen):
                self.fail("expected 'version', 'minimum', 'cstruct', 'tmp_for', 'nested', a hook "
                          "or '{'")
        version, minimum = versions.get("version"), versions.get("minimum")
        if version is None:
            raise SchemaError(name.loc, f"type '{name.text}' has no version")
        members = self.parse_members()
        self.accept(";")
        td = ast.TypeDecl(name.loc, name.text, wire.text, version,
                          version if minimum is None else minimum,
                          cstruct, header, tmp_for, tmp_loc, hooks, members, self.path)
        td.nested = nested or tmp_for is not None
        td.locs = locs  # type: ignore[attr-defined]
        td.wire_loc = wire.loc  # type: ignore[attr-defined]
        return td

    # ---- members ----------------------------------------------------------

    def parse_members(self) -> List[ast.Member]:
        self.expect("{")
        members = []
        while not self.accept("}"):
            if self.tok.kind == "eof":
                self.fail("expected '}'")
            members.append(self.parse_member())
        return members

    def parse_member(self) -> ast.Member:
        t = self.tok
        word = t.text if t.kind == "ident" else None
        handler = {
            "subsection": self.parse_subsection,
            "unused": self.parse_unused,
            "validate": self.parse_validate,
            "local": self.parse_local,
            "buffer": self.parse_buffer,
            "bitmap": self.parse_bitmap,
            "qtailq": self.parse_list,
            "qlist": self.parse_list,
            "gtree": self.parse_gtree,
            "tmp": self.parse_tmp,
        }.get(word or "")
        if handler:
            return handler()
        if t.kind != "ident":
            self.fail("expected a member")
        return self.parse_typed()

    def parse_typed(self) -> ast.Member:
        type_tok = self.next()
        pointer = self.accept("*")
        name = self.member_name("a member name")
        m = ast.Member(name.loc, "typed", name.text, type_name=type_tok.text, pointer=pointer)
        m.type_loc = type_tok.loc  # type: ignore[attr-defined]
        if self.at("["):
            m.array = self.parse_array()
        m.attrs = self.parse_attrs()
        self.expect(";", "after a member")
        return m

    def parse_array(self) -> ast.ArraySpec:
        loc = self.expect("[").loc
        spec = ast.ArraySpec(loc)
        spec.fixed_loc = spec.mult_loc = spec.max_loc = None  # type: ignore[attr-defined]
        if self.at("-"):
            raise SchemaError(self.tok.loc, "an array length cannot be negative")
        if self.tok.kind == "int":
            t = self.next()
            spec.fixed, spec.fixed_loc = t.value, t.loc  # type: ignore[attr-defined]
        else:
            c = self.member_name("an element count or count member")
            spec.count, spec.count_loc = c.text, c.loc
            if self.accept("*"):
                t = self.integer("a multiplier")
                spec.multiply, spec.mult_loc = t.value, t.loc  # type: ignore[attr-defined]
        self.expect("]", "after the array length")
        if self.at("max"):
            spec.max_word_loc = self.next().loc  # type: ignore[attr-defined]
            t = self.integer("the maximum element count")
            spec.max, spec.max_loc = t.value, t.loc  # type: ignore[attr-defined]
        return spec

    def parse_attrs(self) -> ast.Attrs:
        a = ast.Attrs()
        while True:
            t = self.tok
            if t.kind != "ident" or t.text not in ("since", "if", "default", "equal", "le",
                                                   "cname"):
                return a
            if t.text in a.attr_locs:
                raise SchemaError(t.loc, f"'{t.text}' given twice (first at line "
                                  f"{a.attr_locs[t.text].line})")
            self.next()
            if t.text == "since":
                a.since, a.since_loc = self.integer("a version").value, t.loc
            elif t.text == "if":
                a.test = self.parse_pred()
            elif t.text == "default":
                v = self.integer("a default value", signed=True)
                a.default, a.default_loc = v.value, t.loc
                a.default_value_loc = v.loc  # type: ignore[attr-defined]
            elif t.text == "equal":
                a.equal = True
            elif t.text == "le":
                a.le = True
            else:
                c = self.string("a C member path")
                a.cname = c.text
                a.cname_loc = c.loc  # type: ignore[attr-defined]
            a.attr_locs[t.text] = t.loc

    def parse_unused(self) -> ast.Member:
        loc = self.next().loc
        size = self.integer("the number of unused bytes")
        m = ast.Member(loc, "unused", "unused", size=size.value)
        m.size_loc = size.loc  # type: ignore[attr-defined]
        m.attrs = self.parse_attrs()
        self.expect(";", "after a member")
        return m

    def parse_validate(self) -> ast.Member:
        self.next()
        name = self.member_name("the validation's name")
        m = ast.Member(name.loc, "validate", name.text, pred=self.parse_pred())
        self.expect(";", "after a validation")
        return m

    def parse_local(self) -> ast.Member:
        self.next()
        t = self.ident("a scalar type")
        name = self.member_name("a member name")
        m = ast.Member(name.loc, "local", name.text, type_name=t.text)
        m.type_loc = t.loc  # type: ignore[attr-defined]
        if self.at("["):
            m.array = self.parse_array()
        m.attrs = self.parse_attrs()
        self.expect(";", "after a member")
        return m

    def parse_buffer(self) -> ast.Member:
        return self.parse_sized("buffer", "expected '[' and the buffer's size")

    def parse_bitmap(self) -> ast.Member:
        return self.parse_sized(
            "bitmap", "expected '[' and the member holding the bitmap's size in bits")

    def parse_sized(self, kind: str, missing_size: str) -> ast.Member:
        """`buffer NAME[...]` and `bitmap NAME[...]`: a name, then a size in brackets."""
        self.next()
        name = self.member_name(f"a {kind} name")
        if not self.at("["):
            self.fail(missing_size)
        m = ast.Member(name.loc, kind, name.text, array=self.parse_array())
        m.attrs = self.parse_attrs()
        self.expect(";", "after a member")
        return m

    def parse_list(self) -> ast.Member:
        kind = self.next().text
        elem = self.ident("the element type")
        name = self.member_name("a list name")
        self.expect("max", "and the most elements the list may hold")
        mx = self.integer("the maximum element count")
        m = ast.Member(name.loc, kind, name.text, type_name=elem.text, max=mx.value)
        m.type_loc = elem.loc  # type: ignore[attr-defined]
        m.max_loc = mx.loc  # type: ignore[attr-defined]
        m.attrs = self.parse_attrs()
        self.expect(";", "after a member")
        return m

    def parse_gtree(self) -> ast.Member:
        self.next()
        key = self.ident("the key type (u64 or a type)")
        value = self.ident("the value type")
        name = self.member_name("a tree name")
        self.expect("max", "and the most nodes the tree may hold")
        mx = self.integer("the maximum node count")
        m = ast.Member(name.loc, "gtree", name.text, type_name=value.text, key_type=key.text,
                       max=mx.value)
        m.type_loc = value.loc  # type: ignore[attr-defined]
        m.key_loc = key.loc  # type: ignore[attr-defined]
        m.max_loc = mx.loc  # type: ignore[attr-defined]
        m.attrs = self.parse_attrs()
        self.expect(";", "after a member")
        return m

    def parse_tmp(self) -> ast.Member:
        loc = self.next().loc
        t = self.ident("the temporary type")
        m = ast.Member(loc, "tmp", "tmp", type_name=t.text)
        m.type_loc = t.loc  # type: ignore[attr-defined]
        m.attrs = self.parse_attrs()
        self.expect(";", "after a member")
        return m

    def parse_subsection(self) -> ast.Member:
        self.next()
        wire_tok = self.string("the subsection's wire name")
        wire, loc = wire_tok.text, wire_tok.loc
        needed = None
        hooks = ast.Hooks()
        seen: dict = {}
        locs: dict = {}
        versions: dict = {}
        while not self.at("{"):
            t = self.tok
            if self.at("version") or self.at("minimum"):
                versions[t.text] = self.parse_version_clause(seen, locs)
            elif self.at("needed"):
                self.once(seen, self.next())
                needed = self.parse_pred()
            elif not self.parse_hook(hooks, seen):
                self.fail("expected 'version', 'minimum', 'needed', a hook or '{'")
        version, minimum = versions.get("version"), versions.get("minimum")
        if version is None:
            raise SchemaError(loc, f"subsection '{wire}' has no version")
        if self.sub_nesting >= MAX_SUBSECTION_NESTING:
            raise SchemaError(loc, f"subsection '{wire}' is nested too deeply (the limit is "
                              f"{MAX_SUBSECTION_NESTING})")
        self.sub_nesting += 1
        members = self.parse_members()
        self.sub_nesting -= 1
        self.accept(";")
        sub = ast.Subsection(loc, wire, version, version if minimum is None else minimum,
                             needed, hooks, members)
        sub.locs = locs  # type: ignore[attr-defined]
        return ast.Member(loc, "subsection", wire, sub=sub)

    # ---- predicates -------------------------------------------------------

    def parse_pred(self) -> ast.Pred:
        t = self.tok
        if self.at("("):
            e = self.parse_primary()
            return ast.Pred(t.loc, expr=e)
        if t.kind == "ident" and t.text in KEYWORDS:
            raise SchemaError(t.loc, f"'{t.text}' is a reserved word and cannot name a predicate "
                              "function (expressions go in parentheses)")
        return ast.Pred(t.loc, func=self.ident("a predicate function or '('").text)

    def parse_expr(self, level: int) -> ast.Expr:
        if level == len(BINARY_LEVELS):
            return self.parse_unary()
        left = self.parse_expr(level + 1)
        while self.tok.kind == "punct" and self.tok.text in BINARY_LEVELS[level]:
            op = self.next()
            right = self.parse_expr(level + 1)
            left = ast.Binary(op.loc, op.text, left, right)
            self.check_depth(left, op)
        return left

    def check_depth(self, e: ast.Expr, at: Token) -> None:
        depth = 1 + max(getattr(x, "depth", 0) for x in
                        ((e.left, e.right) if isinstance(e, ast.Binary) else (e.operand,)))
        e.depth = depth  # type: ignore[union-attr]
        if depth > MAX_EXPR_DEPTH:
            raise SchemaError(at.loc, f"expression too long (more than {MAX_EXPR_DEPTH} "
                              "operators deep)")

    def nest(self, t: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_EXPR_NESTING:
            raise SchemaError(t.loc, f"expression nested too deeply (the limit is "
                              f"{MAX_EXPR_NESTING})")

    def parse_primary(self) -> ast.Expr:
        """A parenthesised expression."""
        t = self.expect("(")
        self.nest(t)
        e = self.parse_expr(0)
        self.expect(")", "to close the '(' at " + f"{t.loc.line}:{t.loc.col}")
        self.nesting -= 1
        return e

    def parse_unary(self) -> ast.Expr:
        t = self.tok
        if t.kind == "punct" and t.text in ("!", "~", "-"):
            self.next()
            self.nest(t)
            e: ast.Expr = ast.Unary(t.loc, t.text, self.parse_unary())
            self.nesting -= 1
            self.check_depth(e, t)
            return e
        if self.at("("):
            return self.parse_primary()
        if t.kind == "int":
            return ast.Num(t.loc, self.next().value)
        if t.kind == "ident":
            return ast.Ref(t.loc, self.next().text)
        self.fail("expected a member, a number or '('")
        raise AssertionError  # not reached


def parse(src: str, path: str) -> ast.SchemaFile:
    return Parser(src, path).parse_file()
