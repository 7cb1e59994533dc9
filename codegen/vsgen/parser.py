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
    "type", "codec", "include", "version", "minimum", "cstruct", "header", "tmp_for",
    "needed", "since", "if", "default", "equal", "le", "cname", "max", "ctype", "size",
} | set(ast.SCALARS)

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

    def string(self, what: str) -> Token:
        if self.tok.kind != "string":
            self.fail(f"expected {what} (a string)")
        return self.next()

    def integer(self, what: str, signed: bool = False) -> Token:
        neg = signed and self.accept("-")
        if self.tok.kind != "int":
            self.fail(f"expected {what} (an integer)")
        t = self.next()
        return Token("int", t.text, t.loc, -t.value if neg else t.value)

    # ---- file -------------------------------------------------------------

    def parse_file(self) -> ast.SchemaFile:
        f = ast.SchemaFile(self.path, [], [], [])
        while self.tok.kind != "eof":
            if self.at("include"):
                loc = self.next().loc
                f.includes.append(ast.Include(loc, self.string("a schema file name").text))
                self.expect(";")
            elif self.at("codec"):
                f.codecs.append(self.parse_codec())
            elif self.at("type"):
                f.types.append(self.parse_type())
            else:
                self.fail("expected 'type', 'codec' or 'include'")
        return f

    def parse_codec(self) -> ast.CodecDecl:
        loc = self.next().loc
        name = self.name("a codec").text
        info = self.string("the codec's info name").text
        self.expect("ctype")
        ctype = self.string("the codec's C type").text
        size = 0
        if self.accept("size"):
            size = self.integer("the codec's wire size").value
        self.expect(";")
        return ast.CodecDecl(loc, name, info, ctype, size)

    def parse_hook(self, hooks: ast.Hooks) -> bool:
        for h in HOOKS:
            if self.at(h):
                t = self.next()
                if getattr(hooks, h):
                    raise SchemaError(t.loc, f"'{h}' given twice")
                setattr(hooks, h, self.name("a hook function").text)
                return True
        return False

    def parse_type(self) -> ast.TypeDecl:
        loc = self.next().loc
        name = self.name("a type")
        wire = self.string("the type's wire name").text
        version = minimum = None
        cstruct = header = tmp_for = None
        tmp_loc = None
        hooks = ast.Hooks()
        while not self.at("{"):
            if self.accept("version"):
                version = self.integer("a version").value
            elif self.accept("minimum"):
                minimum = self.integer("a minimum version").value
            elif self.accept("cstruct"):
                cstruct = self.string("a C struct name").text
                self.expect("header", "after cstruct")
                header = self.string("a header file").text
            elif self.at("tmp_for"):
                tmp_loc = self.next().loc
                tmp_for = self.name("the parent type").text
            elif not self.parse_hook(hooks):
                self.fail("expected 'version', 'minimum', 'cstruct', 'tmp_for', a hook or '{'")
        if version is None:
            raise SchemaError(name.loc, f"type '{name.text}' has no version")
        members = self.parse_members()
        self.accept(";")
        return ast.TypeDecl(loc, name.text, wire, version,
                            version if minimum is None else minimum,
                            cstruct, header, tmp_for, tmp_loc, hooks, members, self.path)

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
        name = self.name("a member")
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
        if self.tok.kind == "int":
            spec.fixed = self.next().value
        else:
            c = self.name("an element count or count member")
            spec.count, spec.count_loc = c.text, c.loc
            if self.accept("*"):
                spec.multiply = self.integer("a multiplier").value
        self.expect("]")
        if self.accept("max"):
            spec.max = self.integer("the maximum element count").value
        return spec

    def parse_attrs(self) -> ast.Attrs:
        a = ast.Attrs()
        while True:
            t = self.tok
            if self.accept("since"):
                a.since, a.since_loc = self.integer("a version").value, t.loc
            elif self.accept("if"):
                a.test = self.parse_pred()
            elif self.accept("default"):
                a.default, a.default_loc = self.integer("a default value", signed=True).value, t.loc
            elif self.accept("equal"):
                a.equal = True
            elif self.accept("le"):
                a.le = True
            elif self.accept("cname"):
                a.cname = self.string("a C member path").text
            else:
                return a
            a.attr_locs[t.text] = t.loc

    def parse_unused(self) -> ast.Member:
        loc = self.next().loc
        size = self.integer("the number of unused bytes").value
        m = ast.Member(loc, "unused", "unused", size=size)
        m.attrs = self.parse_attrs()
        self.expect(";")
        return m

    def parse_validate(self) -> ast.Member:
        self.next()
        name = self.name("the validation")
        m = ast.Member(name.loc, "validate", name.text, pred=self.parse_pred())
        self.expect(";")
        return m

    def parse_local(self) -> ast.Member:
        self.next()
        t = self.ident("a scalar type")
        name = self.name("a member")
        m = ast.Member(name.loc, "local", name.text, type_name=t.text)
        m.type_loc = t.loc  # type: ignore[attr-defined]
        if self.at("["):
            m.array = self.parse_array()
        self.expect(";")
        return m

    def parse_buffer(self) -> ast.Member:
        self.next()
        name = self.name("a buffer")
        if not self.at("["):
            self.fail("expected '[' and the buffer's size")
        m = ast.Member(name.loc, "buffer", name.text, array=self.parse_array())
        m.attrs = self.parse_attrs()
        self.expect(";")
        return m

    def parse_bitmap(self) -> ast.Member:
        self.next()
        name = self.name("a bitmap")
        if not self.at("["):
            self.fail("expected '[' and the member holding the bitmap's size in bits")
        m = ast.Member(name.loc, "bitmap", name.text, array=self.parse_array())
        m.attrs = self.parse_attrs()
        self.expect(";")
        return m

    def parse_list(self) -> ast.Member:
        kind = self.next().text
        elem = self.name("the element type")
        name = self.name("a list")
        self.expect("max", "and the most elements the list may hold")
        m = ast.Member(name.loc, kind, name.text, type_name=elem.text,
                       max=self.integer("the maximum element count").value)
        m.type_loc = elem.loc  # type: ignore[attr-defined]
        m.attrs = self.parse_attrs()
        self.expect(";")
        return m

    def parse_gtree(self) -> ast.Member:
        self.next()
        key = self.ident("the key type (u64 or a type)")
        value = self.name("the value type")
        name = self.name("a tree")
        self.expect("max", "and the most nodes the tree may hold")
        m = ast.Member(name.loc, "gtree", name.text, type_name=value.text, key_type=key.text,
                       max=self.integer("the maximum node count").value)
        m.type_loc = value.loc  # type: ignore[attr-defined]
        m.key_loc = key.loc  # type: ignore[attr-defined]
        m.attrs = self.parse_attrs()
        self.expect(";")
        return m

    def parse_tmp(self) -> ast.Member:
        loc = self.next().loc
        t = self.name("the temporary type")
        m = ast.Member(loc, "tmp", "tmp", type_name=t.text)
        m.type_loc = t.loc  # type: ignore[attr-defined]
        m.attrs = self.parse_attrs()
        self.expect(";")
        return m

    def parse_subsection(self) -> ast.Member:
        loc = self.next().loc
        wire = self.string("the subsection's wire name").text
        version = minimum = None
        needed = None
        hooks = ast.Hooks()
        while not self.at("{"):
            if self.accept("version"):
                version = self.integer("a version").value
            elif self.accept("minimum"):
                minimum = self.integer("a minimum version").value
            elif self.accept("needed"):
                needed = self.parse_pred()
            elif not self.parse_hook(hooks):
                self.fail("expected 'version', 'minimum', 'needed', a hook or '{'")
        if version is None:
            raise SchemaError(loc, f"subsection '{wire}' has no version")
        members = self.parse_members()
        self.accept(";")
        sub = ast.Subsection(loc, wire, version, version if minimum is None else minimum,
                             needed, hooks, members)
        return ast.Member(loc, "subsection", wire, sub=sub)

    # ---- predicates -------------------------------------------------------

    def parse_pred(self) -> ast.Pred:
        t = self.tok
        if self.accept("("):
            e = self.parse_expr(0)
            self.expect(")")
            return ast.Pred(t.loc, expr=e)
        return ast.Pred(t.loc, func=self.name("a predicate function or '('").text)

    def parse_expr(self, level: int) -> ast.Expr:
        if level == len(BINARY_LEVELS):
            return self.parse_unary()
        left = self.parse_expr(level + 1)
        while self.tok.kind == "punct" and self.tok.text in BINARY_LEVELS[level]:
            op = self.next()
            right = self.parse_expr(level + 1)
            left = ast.Binary(op.loc, op.text, left, right)
        return left

    def parse_unary(self) -> ast.Expr:
        t = self.tok
        if t.kind == "punct" and t.text in ("!", "~", "-"):
            self.next()
            return ast.Unary(t.loc, t.text, self.parse_unary())
        if self.accept("("):
            e = self.parse_expr(0)
            self.expect(")")
            return e
        if t.kind == "int":
            return ast.Num(t.loc, self.next().value)
        if t.kind == "ident":
            return ast.Ref(t.loc, self.next().text)
        self.fail("expected a member, a number or '('")
        raise AssertionError  # not reached


def parse(src: str, path: str) -> ast.SchemaFile:
    return Parser(src, path).parse_file()
