"""C backend: the header (structs, prototypes, descriptors) and the walkers.

The generated walkers call only the public visitor API (visitor/visitor.h),
follow the contract of docs/visitor.md, and read like hand-written code:
one statement per member, early returns, one pairing block per container.
"""

import os
import re
from typing import Dict, List, Optional, Set, Tuple

from . import VERSION, VISITOR_ABI, ast
from .errors import SchemaError
from .model import Model, Scope, all_members

LIST_KINDS = ("qtailq", "qlist", "gtree")
# Binary operators C writes as operators (the others become vs_e_* calls).
C_OPERATORS = ("||", "&&", "|", "^", "&", "==", "!=", "<", "<=", ">", ">=")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
# Marks a member's statement that is one plain call; runs of them share one `if`.
CALL = "\0call "


def mangle(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text)
    return out if out and not out[0].isdigit() else "_" + out


def c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_strlen(text: str) -> int:
    """strlen() of the C string c_string() writes for @text."""
    return len(text.encode("utf-8"))


def split_ctype(ctype: str) -> Tuple[str, str]:
    """'uint8_t[256]' -> ('uint8_t', '[256]')."""
    i = ctype.find("[")
    return (ctype, "") if i < 0 else (ctype[:i].strip(), ctype[i:])


def header_name(model: Model) -> str:
    """The generated header's file name: the schema's base name (which may
    hold characters a C name cannot, as in i8254-v2.vs) plus .vs.h."""
    base = os.path.basename(model.main.path)
    return (base[:-3] if base.endswith(".vs") else base) + ".vs.h"


def banner(model: Model, what: str) -> str:
    return (f"/* {what} generated from {os.path.basename(model.main.path)} by vstate-gen "
            f"{VERSION} -- do not edit */\n")


class CBackend:
    def __init__(self, model: Model) -> None:
        self.m = model
        self.hooks: Dict[str, Tuple[str, str]] = {}     # function -> (signature, where)
        self.preds: Dict[str, str] = {}
        self.subs: List[Tuple[ast.TypeDecl, ast.Subsection]] = []
        self.sizing: Set[str] = set()                    # types wire_size() is inside
        for t in model.own_types:
            for mem in all_members(t.members):
                if mem.kind == "subsection" and mem.sub:
                    self.subs.append((t, mem.sub))

    # ---- naming ---------------------------------------------------------------

    def ctype_of(self, t: ast.TypeDecl) -> str:
        return t.cstruct or t.name

    @staticmethod
    def sub_sym(t: ast.TypeDecl, sub: ast.Subsection) -> str:
        return f"{t.name}__{mangle(sub.wire[len(t.wire) + 1:])}"

    def access(self, scope: Scope, m: ast.Member) -> str:
        return "s->" + (m.attrs.cname or m.name)

    # ---- fixed wire sizes (shown as element sizes in traces) -----------------

    def wire_size(self, t: ast.TypeDecl) -> int:
        """Bytes a value of @t always takes, or 0 when that varies."""
        if t.name in self.sizing:
            return 0        # it holds itself through a pointer: no fixed size
        self.sizing.add(t.name)
        try:
            total = 0
            for m in t.members:
                if m.attrs.since or m.attrs.test or m.kind in ("subsection", ) + LIST_KINDS:
                    return 0
                size = self.member_size(m)
                if size is None:
                    return 0
                total += size
            return total
        finally:
            self.sizing.discard(t.name)

    def member_size(self, m: ast.Member) -> Optional[int]:
        if m.kind in ("local", "validate"):
            return 0
        if m.kind == "unused":
            return m.size
        if m.kind == "tmp":
            return self.wire_size(self.m.types[m.type_name or ""]) or None
        if m.kind == "codec" or (m.kind == "typed" and m.type_name in self.m.codecs):
            return self.m.codecs[m.type_name or ""].size or None
        if m.array and m.array.fixed is None or m.pointer and m.array:
            return None
        n = m.array.fixed if m.array and m.array.fixed else 1
        if m.kind == "buffer":
            return n
        elem = self.elem_size(m)
        return elem * n if elem else None

    def elem_size(self, m: ast.Member) -> int:
        """Wire bytes of one element of @m (of the value when it is single), or 0."""
        if m.kind == "buffer":
            return 1
        if m.kind == "bitmap":
            return 8
        if m.pointer and m.array:
            return 0        # a NULL element is one marker byte, others the value
        if m.kind == "gtree":
            return self.node_size(m)
        tn = m.type_name or ""
        if tn in ast.SCALARS:
            return ast.SCALARS[tn][1]
        if tn in self.m.codecs:
            return self.m.codecs[tn].size
        if tn in self.m.types:
            return self.wire_size(self.m.types[tn])
        return 0

    def node_size(self, m: ast.Member) -> int:
        """Wire bytes of one node of GTree @m (key and value), or 0 when that varies."""
        key = 8 if m.key_type == "u64" else self.wire_size(self.m.types[m.key_type or ""])
        value = self.wire_size(self.m.types[m.type_name or ""])
        return key + value if key and value else 0

    # ---- header -----------------------------------------------------------------

    def header(self) -> str:
        m = self.m
        guard = f"VSTATE_GEN_{mangle(m.module).upper()}_VS_H"
        out = [banner(m, "C header"), f"#ifndef {guard}\n#define {guard}\n\n",
               "#include <stdbool.h>\n#include <stdint.h>\n\n",
               '#include "visitor/visitor.h"\n\n',
               f"#if VS_VISITOR_ABI_VERSION != {VISITOR_ABI}\n",
               f'#error "{header_name(m)} was generated for visitor ABI {VISITOR_ABI}; '
               'regenerate it or update visitor/visitor.h"\n#endif\n\n']
        for inc in m.includes:
            base = inc[:-3] if inc.endswith(".vs") else inc
            out.append(f'#include "{base.split("/")[-1]}.vs.h"\n')
        for hdr in sorted({t.header for t in m.own_types if t.header}):
            out.append(f'#include "{hdr}"\n')
        out.append("\nG_BEGIN_DECLS\n\n")
        for t in m.own_types:
            if not t.cstruct:
                out.append(f"typedef struct {t.name} {t.name};\n")
        out.append("\n")
        for t in self.struct_order():
            out.append(self.struct_def(t))
        for t in m.own_types:
            out.append(self.type_prototypes(t))
        out.append(self.external_prototypes())
        out.append(f"/* Adds this schema's types to the registry (visitor/registry.h). */\n"
                   f"void vs_schema_{m.module}_register(void);\n\n")
        out.append(f"G_END_DECLS\n\n#endif /* {guard} */\n")
        return "".join(out)

    def struct_order(self) -> List[ast.TypeDecl]:
        """Own generated structs, each after the structs it holds by value."""
        own = {t.name: t for t in self.m.own_types if not t.cstruct}
        done: List[ast.TypeDecl] = []
        seen: Set[str] = set()

        def visit(t: ast.TypeDecl) -> None:
            if t.name in seen:
                return
            seen.add(t.name)
            for mem in all_members(t.members):
                dep = None
                if mem.kind == "typed" and not mem.pointer or mem.kind == "gtree":
                    dep = own.get(mem.type_name or "")
                if dep:
                    visit(dep)
                if mem.kind == "gtree" and mem.key_type in own:
                    visit(own[mem.key_type or ""])
            done.append(t)

        for t in own.values():
            visit(t)
        return done

    def c_member_lines(self, t: ast.TypeDecl, m: ast.Member) -> List[str]:
        tn = m.type_name or ""
        dims = ""
        if m.array:
            dims = f"[{m.array.fixed if m.array.fixed is not None else m.array.max}]"
        if m.kind in ("typed", "local"):
            if tn in ast.SCALARS:
                base = ast.SCALARS[tn][0]
            elif tn in self.m.codecs:
                base, dims = split_ctype(self.m.codecs[tn].ctype)
            else:
                base = self.ctype_of(self.m.types[tn])
            star = "*" if m.pointer else ""
            return [f"{base} {star}{m.name}{dims};"]
        if m.kind == "buffer":
            return [f"uint8_t {m.name}{dims};"]
        if m.kind == "bitmap":
            assert m.array and m.array.max
            return [f"uint64_t {m.name}[{(m.array.max + 63) // 64}]; /* bits */"]
        if m.kind in ("qtailq", "qlist"):
            et = self.ctype_of(self.m.types[tn])
            return [f"{et} *{m.name}; /* talloc array of {m.name}_count */",
                    f"uint32_t {m.name}_count;"]
        if m.kind == "gtree":
            return [f"{t.name}_{m.name}_node *{m.name}; /* talloc array of {m.name}_count */",
                    f"uint32_t {m.name}_count;"]
        return []

    def struct_def(self, t: ast.TypeDecl) -> str:
        out = []
        for m in all_members(t.members):
            if m.kind == "gtree":
                key = ("uint64_t" if m.key_type == "u64"
                       else self.ctype_of(self.m.types[m.key_type or ""]))
                val = self.ctype_of(self.m.types[m.type_name or ""])
                out.append(f"typedef struct {t.name}_{m.name}_node {{\n    {key} key;\n"
                           f"    {val} value;\n}} {t.name}_{m.name}_node;\n\n")
        out.append(f"/* {c_comment(t.wire)} version {t.version} (minimum {t.minimum}) */\n")
        out.append(f"struct {t.name} {{\n")
        if t.tmp_for:
            out.append(f"    {self.ctype_of(self.m.types[t.tmp_for])} *parent;\n")
        body = [line for m in all_members(t.members) for line in self.c_member_lines(t, m)]
        if not body and not t.tmp_for:
            body = ["char vs_empty; /* C needs a member */"]
        out.extend(f"    {line}\n" for line in body)
        out.append("};\n\n")
        return "".join(out)

    def type_prototypes(self, t: ast.TypeDecl) -> str:
        ct = self.ctype_of(t)
        return (f"extern const VsTypeInfo vs_type_{t.name};\n"
                f"bool vs_visit_{t.name}(VsVisitor *v, const char *name, {ct} *s, "
                f"GError **errp);\n"
                f"/* Prepares a zeroed {ct} for a load: allocates what it points to. */\n"
                f"void vs_init_{t.name}(TALLOC_CTX *mem_ctx, {ct} *s);\n\n")

    def note_function(self, name: str, signature: str, where: str, loc) -> None:
        old = self.hooks.get(name)
        if old and old[0] != signature:
            raise SchemaError(loc, f"function '{name}' is used as {where} with a different "
                              f"signature than as {old[1]}")
        self.hooks.setdefault(name, (signature, where))

    def collect_functions(self) -> None:
        for t in self.m.own_types:
            ct = self.ctype_of(t)
            self.collect_hooks(t.hooks, ct, t.loc, f"a hook of '{t.name}'")
            for mem in all_members(t.members):
                if mem.kind == "subsection" and mem.sub:
                    self.collect_hooks(mem.sub.hooks, ct, mem.sub.loc, f"a hook of "
                                       f"'{mem.sub.wire}'")
                    self.collect_pred(mem.sub.needed, ct, mem.loc)
                self.collect_pred(mem.attrs.test, ct, mem.loc)
                if mem.kind == "validate":
                    self.collect_pred(mem.pred, ct, mem.loc)

    def collect_hooks(self, hooks: ast.Hooks, ct: str, loc, where: str) -> None:
        for h in ("pre_save", "post_save", "pre_load"):
            fn = getattr(hooks, h)
            if fn:
                self.note_function(fn, f"bool {fn}({ct} *s, GError **errp);", where, loc)
        if hooks.post_load:
            self.note_function(hooks.post_load, f"bool {hooks.post_load}({ct} *s, "
                               "uint32_t version, GError **errp);", where, loc)

    def collect_pred(self, pred: Optional[ast.Pred], ct: str, loc) -> None:
        if pred and pred.func:
            self.note_function(pred.func, f"bool {pred.func}(const {ct} *s, uint32_t version);",
                               "a predicate", loc)

    def external_prototypes(self) -> str:
        self.collect_functions()
        out = []
        if self.hooks:
            out.append("/* Implemented by the device: hooks and predicates named in the "
                       "schema. */\n")
            out.extend(sig + "\n" for sig, _ in self.hooks.values())
            out.append("\n")
        used = {mem.type_name for t in self.m.own_types for mem in all_members(t.members)
                if mem.kind == "typed" and mem.type_name in self.m.codecs}
        for name in sorted(used):
            c = self.m.codecs[name or ""]
            base, dims = split_ctype(c.ctype)
            out.append(f"/*\n * Codec \"{c_comment(c.info)}\": serves save and load like a "
                       f"walker;\n * @val points at the member"
                       f"{' (its first element)' if dims else ''}, @parent at the struct.\n"
                       f" */\nbool {c.name}(VsVisitor *v, const char *name, {base} *val, "
                       f"void *parent, GError **errp);\n\n")
        return "".join(out)

    # ---- walkers ----------------------------------------------------------------

    def source(self) -> str:
        m = self.m
        head = [banner(m, "C walkers"),
                "#include <inttypes.h>\n#include <stddef.h>\n#include <string.h>\n\n",
                f'#include "{header_name(m)}"\n#include "visitor/registry.h"\n\n']
        out: List[str] = []
        for t, sub in self.subs:
            out.append(f"static const VsTypeInfo vs_type_{self.sub_sym(t, sub)};\n")
        out.append("\n" if self.subs else "")
        for t in m.own_types:
            out.append(self.type_info(t.name, t.wire, t.version, t.minimum, t.members,
                                      f"sizeof({self.ctype_of(t)})", None, t))
        for t, sub in self.subs:
            out.append(self.type_info(self.sub_sym(t, sub), sub.wire, sub.version, sub.minimum,
                                      sub.members, "0", sub.needed, t))
        for t in m.own_types:
            out.append(self.gtree_walkers(t))
        for t in m.own_types:
            out.append(self.walker(t))
        out.append(self.registry())
        body = "".join(out)
        return "".join(head) + expr_helpers(body) + body

    def declared_name(self, sym: str) -> str:
        """A C symbol's type name as the schema declares it (without --prefix)."""
        prefix = self.m.type_prefix
        return sym[len(prefix):] if prefix and sym.startswith(prefix) else sym

    def type_info(self, sym: str, wire: str, version: int, minimum: int,
                  members: List[ast.Member], size: str, needed: Optional[ast.Pred],
                  owner: ast.TypeDecl) -> str:
        fields = [self.field_info(owner, mem) for mem in members]
        needed_text = c_string(pred_text(needed)) if needed else "NULL"
        return (f"static const VsFieldInfo vs_fields_{sym}[] = {{\n"
                + "".join(fields) + "    { .name = NULL },\n};\n\n"
                f"{'static ' if size == '0' else ''}const VsTypeInfo vs_type_{sym} = {{\n"
                f"    .name = {c_string(self.declared_name(sym))},\n"
                f"    .wire_name = {c_string(wire)},\n"
                f"    .version = {version},\n    .minimum_version = {minimum},\n"
                f"    .size = {size},\n    .fields = vs_fields_{sym},\n"
                f"    .n_fields = {len(fields)},\n    .needed = {needed_text},\n"
                f"    .name_len = {c_strlen(self.declared_name(sym))}, "
                f".wire_name_len = {c_strlen(wire)},\n}};\n\n")

    def field_info(self, t: ast.TypeDecl, m: ast.Member) -> str:
        tn = m.type_name or ""
        kind, width, flags = "VS_FIELD_STRUCT", 0, []
        type_ref = key_ref = "NULL"
        codec = "NULL"
        if m.kind in ("typed", "local"):
            if tn in ast.SCALARS:
                kind = {"bool": "VS_FIELD_BOOL", "f64": "VS_FIELD_F64",
                        "timer": "VS_FIELD_TIMER"}.get(tn, "VS_FIELD_INT" if ast.SCALARS[tn][2]
                                                         else "VS_FIELD_UINT")
                width = ast.SCALARS[tn][1] if tn in ast.INTEGERS else 0
            elif tn in self.m.codecs:
                kind, codec = "VS_FIELD_CODEC", c_string(self.m.codecs[tn].info)
            else:
                type_ref = f"&vs_type_{tn}"
        else:
            kind = {"buffer": "VS_FIELD_BUFFER", "unused": "VS_FIELD_UNUSED",
                    "bitmap": "VS_FIELD_BITMAP", "qtailq": "VS_FIELD_QTAILQ",
                    "qlist": "VS_FIELD_QLIST", "gtree": "VS_FIELD_GTREE",
                    "tmp": "VS_FIELD_TMP", "validate": "VS_FIELD_VALIDATE",
                    "subsection": "VS_FIELD_SUBSECTION"}[m.kind]
            if m.kind in ("qtailq", "qlist", "gtree", "tmp"):
                type_ref = f"&vs_type_{tn}"
            if m.kind == "gtree" and m.key_type != "u64":
                key_ref = f"&vs_type_{m.key_type}"
            if m.kind == "subsection" and m.sub:
                type_ref = f"&vs_type_{self.sub_sym(t, m.sub)}"
        if m.kind == "local":
            flags.append("VS_FIELD_F_LOCAL")
        if m.array:
            flags.append("VS_FIELD_F_ARRAY")
        if m.pointer:
            flags.append("VS_FIELD_F_PTR_ARRAY" if m.array else "VS_FIELD_F_POINTER")
        if m.attrs.equal:
            flags.append("VS_FIELD_F_EQUAL")
        if m.attrs.le:
            flags.append("VS_FIELD_F_LE")
        if m.attrs.default is not None:
            flags.append("VS_FIELD_F_DEFAULT")
        has_c = m.kind not in ("unused", "tmp", "validate", "subsection")
        offset = (f"offsetof({self.ctype_of(t)}, {m.attrs.cname or m.name})" if has_c
                  else "SIZE_MAX")
        count, maxv, count_field, mult = 1, 0, "NULL", 1
        if m.array:
            if m.array.fixed is not None:
                count = m.array.fixed
            else:
                maxv, count_field, mult = m.array.max or 0, c_string(m.array.count or ""), \
                    m.array.multiply
        if m.kind == "unused":
            count = m.size
        if m.kind in LIST_KINDS:
            maxv = m.max or 0
        test = m.attrs.test or (m.pred if m.kind == "validate" else None)
        name = m.sub.wire if m.kind == "subsection" and m.sub else m.name
        return (f"    {{ .name = {c_string(name)}, .kind = {kind}, "
                f".flags = {' | '.join(flags) or '0'}, .width = {width}, "
                f".name_len = {c_strlen(name)},\n"
                f"      .offset = {offset}, .elem_size = {self.elem_size(m)}, "
                f".count = {count}, .max = {maxv}, .count_field = {count_field},\n"
                f"      .multiply = {mult}, .since = {m.attrs.since}, "
                f".test = {c_string(pred_text(test)) if test else 'NULL'}, "
                f".default_value = {m.attrs.default or 0},\n"
                f"      .type = {type_ref}, .key_type = {key_ref}, .codec = {codec} }},\n")

    # ---- walker bodies ----------------------------------------------------------

    def walker(self, t: ast.TypeDecl) -> str:
        ct = self.ctype_of(t)
        out = []
        # A tmp_for type's hooks translate between the wire and its parent, so
        # they run even on a walk with hooks turned off.
        switchable = not t.tmp_for
        out.extend(self.hook_wrappers(t.name, ct, t.hooks, switchable))
        for mem in all_members(t.members):
            if mem.kind == "subsection" and mem.sub:
                out.extend(self.hook_wrappers(self.sub_sym(t, mem.sub), ct, mem.sub.hooks,
                                              switchable))
        for mem in reversed(all_members(t.members)):
            if mem.kind == "subsection" and mem.sub:
                out.append(self.members_fn(t, self.sub_sym(t, mem.sub), mem.sub.members))
        out.append(self.members_fn(t, t.name, t.members))
        out.append(self.container_fn(t.name, ct, t.hooks))
        out.append(self.init_fn(t))
        return "".join(out)

    def hook_wrappers(self, sym: str, ct: str, hooks: ast.Hooks,
                      switchable: bool = True) -> List[str]:
        """One static function per hook: calls it and turns its failure into the walk's.

        A @switchable hook is skipped on a walk whose visitor has hooks turned
        off (vs_visitor_set_hooks()).
        """
        out = []
        skip = ("    if (!vs_visitor_hooks_enabled(v)) {\n        return true;\n    }\n"
                if switchable else "")
        for h in ("pre_save", "post_save", "pre_load", "post_load"):
            fn = getattr(hooks, h)
            if not fn:
                continue
            params, args = (", uint32_t version", "s, version, &cause") if h == "post_load" \
                else ("", "s, &cause")
            out.append(f"static bool vs_{h}_{sym}(VsVisitor *v, {ct} *s{params}, GError **errp)\n"
                       f"{{\n    GError *cause = NULL;\n\n" + skip +
                       f"    if ({fn}({args})) {{\n        return true;\n    }}\n"
                       f"    return vs_visit_hook_failed(v, \"{h}\", \"{fn}\", cause, errp);\n"
                       f"}}\n\n")
        return out

    def members_fn(self, t: ast.TypeDecl, sym: str, members: List[ast.Member]) -> str:
        ct = self.ctype_of(t)
        scope = self.m.scopes[t.name]
        body: List[str] = []
        run: List[str] = []         # consecutive plain calls, joined into one `if`

        def flush() -> None:
            if run:
                body.extend(fail_if_any(run) + [""])
                run.clear()

        for mem in members:
            lines = self.member(t, scope, mem)
            if len(lines) == 1 and lines[0].startswith(CALL):
                run.append(lines[0][len(CALL):])
            elif lines:
                flush()
                body.extend(lines + [""])
        flush()
        text = "".join("    " + line + "\n" if line else "\n" for line in body)
        code = re.sub(r'"(\\.|[^"\\])*"', '""', text)
        used = {"v": r"\bv\b", "s": r"\bs(->|,|\))", "version": r"\bversion\b",
                "errp": r"\berrp\b"}
        unused = [p for p, rx in used.items() if not re.search(rx, code)]
        voids = "".join(f"    (void){p};\n" for p in unused)
        if voids and text:
            voids += "\n"
        return (f"static bool vs_members_{sym}(VsVisitor *v, {ct} *s, uint32_t version, "
                f"GError **errp)\n{{\n" + voids + text + "    return true;\n}\n\n")

    def body(self, sym: str, hooks: ast.Hooks, ver: str) -> List[str]:
        """Statements that set `ok`: hooks, members and the struct check.

        As in QEMU: pre_load and post_load bracket a load, post_load getting the
        stream's version; post_save runs after the members even when one of
        them failed (keeping the first error), but not when pre_save failed.
        """
        members = [f"vs_members_{sym}(v, s, {ver}, errp)", "vs_visit_check_struct(v, errp)"]

        def chain(parts: List[str]) -> List[str]:
            return [("ok = " if i == 0 else "     ") + p + (" &&" if i < len(parts) - 1 else ";")
                    for i, p in enumerate(parts)]

        load = members[:]
        if hooks.pre_load:
            load.insert(0, f"vs_pre_load_{sym}(v, s, errp)")
        if hooks.post_load:
            load.append(f"vs_post_load_{sym}(v, s, {ver}, errp)")
        if not (hooks.pre_load or hooks.post_load or hooks.pre_save or hooks.post_save):
            return chain(members)
        save = chain(members)
        if hooks.post_save:
            save = (["GError *post_err = NULL;", ""] + save +
                    ["/* post_save runs also after a failed member; the first error stays. */",
                     f"if (!vs_post_save_{sym}(v, s, ok ? errp : &post_err)) {{",
                     "    g_clear_error(&post_err);", "    ok = false;", "}"])
        out = ["if (vs_visit_is_load(v)) {"] + ["    " + x if x else "" for x in chain(load)]
        if hooks.pre_save:
            out.append(f"}} else if (vs_pre_save_{sym}(v, s, errp)) {{")
        else:
            out.append("} else {")
        out.extend("    " + x if x else "" for x in save)
        if hooks.pre_save:
            out += ["} else {", "    ok = false;"]
        out.append("}")
        return out

    def container_fn(self, sym: str, ct: str, hooks: ast.Hooks) -> str:
        body = "".join("    " + x + "\n" if x else "\n" for x in self.body(sym, hooks, "version"))
        return (f"bool vs_visit_{sym}(VsVisitor *v, const char *name, {ct} *s, GError **errp)\n"
                f"{{\n    uint32_t version = vs_type_{sym}.version;\n    bool ok;\n\n"
                f"    if (!vs_visit_start_struct(v, name, &vs_type_{sym}, &version, errp)) {{\n"
                f"        return false;\n    }}\n" + body +
                "    vs_visit_end_struct(v);\n    return ok;\n}\n\n")

    def exists_cond(self, scope: Scope, m: ast.Member) -> Optional[str]:
        parts = []
        if m.attrs.since:
            parts.append(f"version >= {m.attrs.since}")
        if m.attrs.test:
            test = self.pred_c(scope, m.attrs.test)
            parts.append(test if not parts else paren(test))
        return " && ".join(parts) if parts else None

    def member(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        """The statements for @m: one CALL line for a plain call, else a block."""
        body = getattr(self, "emit_" + m.kind)(t, scope, m)
        cond = self.exists_cond(scope, m)
        if not body or not cond:
            return body
        if len(body) == 1 and body[0].startswith(CALL):
            body = fail_if_any([body[0][len(CALL):]])
        lines = if_open(cond) + ["    " + b if b else "" for b in body]
        if m.attrs.default is not None:
            older = "vs_visit_is_load(v)"
            if m.attrs.test:
                older += f" && version < {m.attrs.since}"
            lines += [f"}} else if ({older}) {{",
                      f"    {self.access(scope, m)} = {self.default_c(m)};"]
        return lines + ["}"]

    def default_c(self, m: ast.Member) -> str:
        value = m.attrs.default or 0
        if m.type_name == "bool":
            return "true" if value else "false"
        return str(value)

    def scalar_call(self, tn: str, name: str, ptr: str) -> str:
        fn = {"bool": "bool", "f64": "f64", "timer": "i64"}.get(tn, tn)
        return f"vs_visit_{fn}(v, {name}, {ptr}, errp)"

    def emit_typed(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        tn = m.type_name or ""
        acc = self.access(scope, m)
        if tn in self.m.codecs:
            _, dims = split_ctype(self.m.codecs[tn].ctype)
            ptr = acc if dims else "&" + acc
            return [CALL + f"{tn}(v, \"{m.name}\", {ptr}, s, errp)"]
        if m.array:
            return self.emit_array(scope, m, acc)
        if tn in ast.SCALARS:
            if m.attrs.equal:
                return self.emit_equal(m, acc)
            if m.attrs.le:
                return self.emit_le(m, acc)
            return [CALL + self.scalar_call(tn, f'"{m.name}"', "&" + acc)]
        if m.pointer:
            ct = self.ctype_of(self.m.types[tn])
            return [f"if (!{acc}) {{",
                    "    if (!vs_visit_is_load(v)) {",
                    f"        return vs_visit_report(v, \"{m.name}\", errp, "
                    "VS_VISIT_ERROR_MISMATCH,",
                    "                               \"pointer member is NULL\");",
                    "    }",
                    "    /* Allocated on load, under the result context. */",
                    f"    {acc} = talloc_zero(vs_visitor_result_ctx(v), {ct});",
                    f"    vs_init_{tn}(vs_visitor_result_ctx(v), {acc});",
                    "}"] + fail_if_any([f"vs_visit_{tn}(v, \"{m.name}\", {acc}, errp)"])
        return [CALL + f"vs_visit_{tn}(v, \"{m.name}\", &{acc}, errp)"]

    def emit_equal(self, m: ast.Member, acc: str) -> List[str]:
        tn = m.type_name or ""
        ct, width, signed = ast.SCALARS[tn]
        # Shown in hex like QEMU's "%x != %x"; signed values as their bits.
        show = (lambda x: f"(uint64_t)(uint{width * 8}_t){x}") if signed else \
            (lambda x: f"(uint64_t){x}")
        return ["{",
                f"    {ct} stream_value = {acc};",
                "",
                f"    if (!{self.scalar_call(tn, chr(34) + m.name + chr(34), '&stream_value')}) {{",
                "        return false;", "    }",
                f"    if (vs_visit_is_load(v) && stream_value != {acc}) {{",
                f"        return vs_visit_report(v, \"{m.name}\", errp, VS_VISIT_ERROR_MISMATCH,",
                "                               \"stream holds 0x%\" PRIx64 \", expected 0x%\" "
                "PRIx64",
                "                               \" (equal field)\",",
                f"                               {show('stream_value')}, {show(acc)});",
                "    }", "}"]

    def emit_le(self, m: ast.Member, acc: str) -> List[str]:
        tn = m.type_name or ""
        ct = ast.SCALARS[tn][0]
        return ["{",
                f"    {ct} stream_value = {acc};",
                "",
                f"    if (!{self.scalar_call(tn, chr(34) + m.name + chr(34), '&stream_value')}) {{",
                "        return false;", "    }",
                "    if (vs_visit_is_load(v)) {",
                f"        if (stream_value < 0 || stream_value > {acc}) {{",
                f"            return vs_visit_report(v, \"{m.name}\", errp, "
                "VS_VISIT_ERROR_RANGE,",
                "                                   \"stream holds %\" PRId64 \", outside 0..%\" "
                "PRId64",
                "                                   \" (le field)\",",
                f"                                   (int64_t)stream_value, (int64_t){acc});",
                "        }",
                f"        {acc} = stream_value;",
                "    }", "}"]

    def count_lines(self, scope: Scope, m: ast.Member, spec: ast.ArraySpec,
                    what: str = "n") -> Tuple[List[str], List[str]]:
        """(declarations, statements) that set uint32_t @what to @spec's element count.

        A negative i32 count fails with RANGE; a product beyond 32 bits
        saturates, so the maximum check that follows catches it.
        """
        if spec.fixed is not None:
            return [f"uint32_t {what} = {spec.fixed};"], []
        count = scope.by_name[spec.count or ""]
        cacc = self.access(scope, count)
        checks = []
        if count.type_name == "i32":
            checks = [f"if ({cacc} < 0) {{",
                      f"    return vs_visit_report(v, \"{m.name}\", errp, VS_VISIT_ERROR_RANGE,",
                      f"                           \"count {spec.count} is negative (%\" PRId32 "
                      f"\")\", {cacc});", "}"]
        if spec.multiply == 1:
            if not checks:
                return [f"uint32_t {what} = {cacc};"], []
            return [f"uint32_t {what};"], checks + [f"{what} = (uint32_t){cacc};"]
        wide = f"(uint64_t){cacc} * {spec.multiply}"
        if not checks:
            return [f"uint64_t {what}_wide = {wide};",
                    f"uint32_t {what} = {what}_wide > UINT32_MAX ? UINT32_MAX : "
                    f"(uint32_t){what}_wide;"], []
        return [f"uint32_t {what};"], checks + [
            f"{what} = {wide} > UINT32_MAX ? UINT32_MAX : (uint32_t)({wide});"]

    def emit_array(self, scope: Scope, m: ast.Member, acc: str) -> List[str]:
        spec = m.array
        assert spec is not None
        tn = m.type_name or ""
        maxv = spec.fixed if spec.fixed is not None else spec.max
        if m.pointer:
            elem = [f"bool is_null = {acc}[i] == NULL;", "",
                    "ok = vs_visit_nullptr(v, NULL, &is_null, errp);",
                    "if (ok && !is_null) {",
                    "    ok = " + (self.scalar_call(tn, "NULL", f"{acc}[i]") if tn in ast.SCALARS
                                   else f"vs_visit_{tn}(v, NULL, {acc}[i], errp)") + ";",
                    "}"]
        elif tn in ast.SCALARS:
            elem = [f"ok = {self.scalar_call(tn, 'NULL', f'&{acc}[i]')};"]
        else:
            elem = [f"ok = vs_visit_{tn}(v, NULL, &{acc}[i], errp);"]
        decls, checks = self.count_lines(scope, m, spec)
        return (["{"] + indent(decls + ["bool ok = true;", ""] + checks) +
                [f"    if (!vs_visit_start_array(v, \"{m.name}\", &n, {maxv}, "
                 f"{self.elem_size(m)}, errp)) {{",
                 "        return false;", "    }",
                 "    for (uint32_t i = 0; ok && i < n; i++) {"] +
                ["        " + x if x else "" for x in elem] +
                ["    }", "    vs_visit_end_array(v);", "    if (!ok) {", "        return false;",
                 "    }", "}"])

    def emit_buffer(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        spec = m.array
        assert spec is not None
        acc = self.access(scope, m)
        if spec.fixed is not None:
            return [CALL + f"vs_visit_buffer(v, \"{m.name}\", {acc}, {spec.fixed}, errp)"]
        decls, checks = self.count_lines(scope, m, spec)
        if spec.max != 0xFFFFFFFF:      # else n cannot exceed it (and compilers say so)
            checks += [f"if (n > {spec.max}) {{",
                       f"    return vs_visit_report(v, \"{m.name}\", errp, VS_VISIT_ERROR_LIMIT,",
                       f"                           \"%\" PRIu32 \" bytes exceed the declared "
                       f"maximum of {spec.max}\", n);",
                       "}"]
        return (["{"] + ["    " + x if x else "" for x in decls + [""] + checks] +
                [f"    if (!vs_visit_buffer(v, \"{m.name}\", {acc}, n, errp)) {{",
                 "        return false;", "    }", "}"])

    def emit_bitmap(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        spec = m.array
        assert spec is not None and spec.max is not None
        acc = self.access(scope, m)
        words = (spec.max + 63) // 64
        decls, checks = self.count_lines(scope, m, spec, "bits")
        return (["{"] + indent(decls + ["uint32_t n;", "bool ok = true;", ""] + checks) +
                ([f"    if (bits > {spec.max}) {{",
                  f"        return vs_visit_report(v, \"{m.name}\", errp, VS_VISIT_ERROR_LIMIT,",
                  f"                               \"%\" PRIu32 \" bits exceed the declared "
                  f"maximum of {spec.max}\", bits);",
                  "    }"] if spec.max != 0xFFFFFFFF else []) +
                ["    n = (uint32_t)(((uint64_t)bits + 63) / 64);",
                 f"    if (!vs_visit_start_array(v, \"{m.name}\", &n, {words}, 8, errp)) {{",
                 "        return false;", "    }",
                 "    for (uint32_t i = 0; ok && i < n; i++) {",
                 f"        ok = vs_visit_u64(v, NULL, &{acc}[i], errp);",
                 "    }", "    vs_visit_end_array(v);", "    if (!ok) {", "        return false;",
                 "    }", "}"])

    def emit_unused(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        return [CALL + f"vs_visit_unused(v, \"unused\", {m.size}, errp)"]

    def emit_local(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        return []

    def emit_validate(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        assert m.pred is not None
        return [f"if (vs_visit_is_load(v) && !{paren(self.pred_c(scope, m.pred))}) {{",
                "    return vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_MISMATCH,",
                f"                           \"Input validation failed: "
                f"{c_string(t.wire + '/' + m.name)[1:]});",
                "}"]

    def emit_tmp(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        tt = self.m.types[m.type_name or ""]
        ct = self.ctype_of(tt)
        return ["{",
                f"    {ct} tmp;", "",
                "    memset(&tmp, 0, sizeof(tmp));",
                "    tmp.parent = s;",
                f"    if (!vs_visit_{tt.name}(v, \"tmp\", &tmp, errp)) {{",
                "        return false;", "    }", "}"]

    def list_loop(self, m: ast.Member, acc: str, elem_ct: str, visit_elem: str,
                  init_elem: List[str], elem_size: int) -> List[str]:
        """The list of @m; its elements are a talloc array grown as the stream goes."""
        return [f"if (!vs_visit_start_list(v, \"{m.name}\", {m.max}, {elem_size}, errp)) {{",
                "    return false;", "}",
                "if (vs_visit_is_load(v)) {",
                f"    {acc} = NULL;", f"    {acc}_count = 0;", "}",
                "for (uint32_t i = 0; ok; i++) {",
                f"    bool more = !vs_visit_is_load(v) && i < {acc}_count;", "",
                "    ok = vs_visit_list_next(v, &more, errp);",
                "    if (!ok || !more) {", "        break;", "    }",
                "    if (vs_visit_is_load(v)) {",
                "        /* One more element, a talloc child of the result context. */",
                f"        {acc} = talloc_realloc(vs_visitor_result_ctx(v), {acc}, {elem_ct}, "
                "i + 1);",
                f"        g_assert({acc} != NULL);",
                f"        {acc}_count = i + 1;",
                f"        memset(&{acc}[i], 0, sizeof({acc}[i]));"] + \
               ["        " + x for x in init_elem] + \
               ["    }",
                f"    ok = {visit_elem};", "}",
                "vs_visit_end_list(v);", "if (!ok) {", "    return false;", "}"]

    def emit_qtailq(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        et = self.m.types[m.type_name or ""]
        acc = self.access(scope, m)
        init = [f"vs_init_{et.name}(vs_visitor_result_ctx(v), &{acc}[i]);"] \
            if self.needs_init(et) else []
        return (["{", "    bool ok = true;", ""] + ["    " + x if x else "" for x in self.list_loop(
            m, acc, self.ctype_of(et), f"vs_visit_{et.name}(v, NULL, &{acc}[i], errp)", init,
            self.wire_size(et))] + ["}"])

    emit_qlist = emit_qtailq

    def emit_gtree(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        acc = self.access(scope, m)
        node = f"{t.name}_{m.name}_node"
        init = []
        for part, tname in (("key", m.key_type), ("value", m.type_name)):
            pt = self.m.types.get(tname or "")
            if pt and self.needs_init(pt):
                init.append(f"vs_init_{pt.name}(vs_visitor_result_ctx(v), &{acc}[i].{part});")
        return (["{", f"    uint32_t nnodes = {acc}_count;", "    bool ok = true;", "",
                 f"    if (!vs_visit_u32(v, \"{m.name}_nnodes\", &nnodes, errp)) {{",
                 "        return false;", "    }",
                 ] + ([
                 f"    if (nnodes > {m.max}) {{",
                 f"        return vs_visit_report(v, \"{m.name}\", errp, VS_VISIT_ERROR_LIMIT,",
                 f"                               \"%\" PRIu32 \" nodes exceed the declared "
                 f"maximum of {m.max}\", nnodes);",
                 "    }"] if m.max != 0xFFFFFFFF else []) +
                ["    " + x if x else "" for x in self.list_loop(
                    m, acc, node, f"vs_visit_{node}(v, NULL, &{acc}[i], errp)", init,
                    self.node_size(m))] +
                [f"    if (vs_visit_is_load(v) && {acc}_count != nnodes) {{",
                 f"        return vs_visit_report(v, \"{m.name}\", errp, "
                 "VS_VISIT_ERROR_MISMATCH,",
                 "                               \"the tree holds %\" PRIu32 \" nodes, its "
                 "count says %\" PRIu32,",
                 f"                               {acc}_count, nnodes);",
                 "    }", "}"])

    def gtree_walkers(self, t: ast.TypeDecl) -> str:
        out = []
        for m in all_members(t.members):
            if m.kind != "gtree":
                continue
            node = f"{t.name}_{m.name}_node"
            key = ("vs_visit_u64(v, \"key\", &s->key, errp)" if m.key_type == "u64"
                   else f"vs_visit_{m.key_type}(v, \"key\", &s->key, errp)")
            out.append(f"static const VsTypeInfo vs_type_{node} = {{\n"
                       f"    .name = {c_string(self.declared_name(node))},\n    .wire_name = "
                       f"{c_string(t.wire + '/' + m.name + '/node')},\n"
                       f"    .version = 1,\n    .minimum_version = 1,\n"
                       f"    .size = sizeof({node}),\n"
                       f"    .name_len = {c_strlen(self.declared_name(node))}, "
                       f".wire_name_len = {c_strlen(t.wire + '/' + m.name + '/node')},\n}};\n\n"
                       f"static bool vs_visit_{node}(VsVisitor *v, const char *name, {node} *s, "
                       f"GError **errp)\n{{\n    uint32_t version = 1;\n    bool ok;\n\n"
                       f"    if (!vs_visit_start_struct(v, name, &vs_type_{node}, &version, "
                       f"errp)) {{\n        return false;\n    }}\n"
                       f"    ok = {key} &&\n"
                       f"         vs_visit_{m.type_name}(v, \"value\", &s->value, errp) &&\n"
                       f"         vs_visit_check_struct(v, errp);\n"
                       f"    vs_visit_end_struct(v);\n    return ok;\n}}\n\n")
        return "".join(out)

    def emit_subsection(self, t: ast.TypeDecl, scope: Scope, m: ast.Member) -> List[str]:
        sub = m.sub
        assert sub is not None
        sym = self.sub_sym(t, sub)
        needed = paren(self.pred_c(scope, sub.needed)) if sub.needed else "true"
        body = self.body(sym, sub.hooks, "sub_version")
        return (["{", f"    uint32_t sub_version = vs_type_{sym}.version;",
                 f"    bool present = !vs_visit_is_load(v) && {needed};",
                 "    bool ok;", "",
                 f"    if (!vs_visit_start_subsection(v, {c_string(sub.wire)}, &vs_type_{sym},",
                 "                                   &sub_version, &present, errp)) {",
                 "        return false;", "    }",
                 "    if (present) {"] +
                ["        " + x if x else "" for x in body] +
                ["        vs_visit_end_subsection(v);", "        if (!ok) {",
                 "            return false;", "        }", "    }", "}"])

    # ---- predicates ---------------------------------------------------------------

    def pred_c(self, scope: Scope, pred: Optional[ast.Pred]) -> str:
        """@pred as a C expression (no outer parentheses)."""
        assert pred is not None
        if pred.func:
            return f"{pred.func}(s, version)"
        assert pred.expr is not None
        return self.expr_c(scope, pred.expr)

    def expr_c(self, scope: Scope, e: ast.Expr) -> str:
        """@e as a C expression of int64_t operands.

        Arithmetic goes through the vs_e_* helpers (total, no undefined
        behaviour); parentheses are written where C needs them or where
        compilers ask for them (mixed && and ||, comparisons in bit
        operations), not around every operation.
        """
        if isinstance(e, ast.Num):
            if e.value > 0x7FFFFFFFFFFFFFFF:
                return f"vs_e_wrap(UINT64_C({e.value:#x}))"
            return str(e.value) if e.value <= 0x7FFFFFFF else f"INT64_C({e.value})"
        if isinstance(e, ast.Ref):
            # Through a function: a cast would let compilers see the member's
            # range and warn about comparisons that are always true.
            if e.name == "version":
                return "vs_e_uint(version)"
            m = scope.by_name[e.name]
            signed = ast.SCALARS[m.type_name or ""][2]
            return f"vs_e_{'int' if signed else 'uint'}({self.access(scope, m)})"
        if isinstance(e, ast.Unary):
            if e.op == "-" and isinstance(e.operand, ast.Num) and \
                    e.operand.value <= 0x7FFFFFFFFFFFFFFF:
                return "-" + self.expr_c(scope, e.operand)
            inner = self.expr_c(scope, e.operand)
            if isinstance(e.operand, ast.Binary) and e.operand.op in C_OPERATORS:
                inner = f"({inner})"
            return {"!": f"!{inner}", "~": f"~{inner}", "-": f"vs_e_sub(0, {inner})"}[e.op]
        assert isinstance(e, ast.Binary)
        left, right = self.expr_c(scope, e.left), self.expr_c(scope, e.right)
        helper = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod",
                  "<<": "shl", ">>": "shr"}.get(e.op)
        if helper:
            return f"vs_e_{helper}({left}, {right})"

        def operand(child: ast.Expr, text: str, is_left: bool) -> str:
            if not isinstance(child, ast.Binary) or child.op not in C_OPERATORS:
                return text
            if is_left and child.op == e.op:
                return text
            if e.op in ("&&", "||") and child.op in COMPARISONS:
                return text
            return f"({text})"

        return f"{operand(e.left, left, True)} {e.op} {operand(e.right, right, False)}"

    # ---- registry ------------------------------------------------------------------

    def needs_init(self, t: ast.TypeDecl, seen: Optional[Set[str]] = None) -> bool:
        """Whether vs_init_T() has work: pointers to allocate, here or in nested structs."""
        seen = set() if seen is None else seen
        if t.name in seen:
            return False
        seen.add(t.name)
        for m in all_members(t.members):
            if m.kind != "typed":
                continue
            if m.pointer:
                return True
            inner = self.m.types.get(m.type_name or "")
            if inner and self.needs_init(inner, seen):
                return True
        return False

    def init_fn(self, t: ast.TypeDecl) -> str:
        ct = self.ctype_of(t)
        lines = []
        for m in all_members(t.members):
            tn = m.type_name or ""
            if m.kind != "typed" or tn in self.m.codecs:
                continue
            acc = f"s->{m.attrs.cname or m.name}"
            inner = self.m.types.get(tn)
            if tn in ast.SCALARS:
                if m.pointer and m.array:
                    et = ast.SCALARS[tn][0]
                    lines += [f"for (size_t i = 0; i < {m.array.fixed}; i++) {{",
                              f"    if (!{acc}[i]) {{",
                              f"        {acc}[i] = talloc_zero(mem_ctx, {et});", "    }", "}"]
                continue
            assert inner is not None
            et = self.ctype_of(inner)
            init = self.needs_init(inner)
            if m.pointer and m.array:
                lines += [f"for (size_t i = 0; i < {m.array.fixed}; i++) {{",
                          f"    if (!{acc}[i]) {{",
                          f"        {acc}[i] = talloc_zero(mem_ctx, {et});"] + \
                         ([f"        vs_init_{tn}(mem_ctx, {acc}[i]);"] if init else []) + \
                         ["    }", "}"]
            elif m.pointer:
                lines += [f"if (!{acc}) {{", f"    {acc} = talloc_zero(mem_ctx, {et});"] + \
                         ([f"    vs_init_{tn}(mem_ctx, {acc});"] if init else []) + ["}"]
            elif not init:
                continue
            elif m.array:
                n = m.array.fixed if m.array.fixed is not None else m.array.max
                lines += [f"for (size_t i = 0; i < {n}; i++) {{",
                          f"    vs_init_{tn}(mem_ctx, &{acc}[i]);", "}"]
            else:
                lines.append(f"vs_init_{tn}(mem_ctx, &{acc});")
        body = "".join("    " + x + "\n" for x in lines)
        if not lines:
            body = "    (void)mem_ctx;\n    (void)s;\n"
        return f"void vs_init_{t.name}(TALLOC_CTX *mem_ctx, {ct} *s)\n{{\n{body}}}\n\n"

    def registry(self) -> str:
        out = []
        types = [t for t in self.m.own_types if not t.nested]
        for t in types:
            ct = self.ctype_of(t)
            out.append(f"static bool vs_walk_{t.name}(VsVisitor *v, const char *name, void *obj, "
                       f"GError **errp)\n{{\n    return vs_visit_{t.name}(v, name, ({ct} *)obj, "
                       f"errp);\n}}\n\n"
                       f"static void vs_prepare_{t.name}(TALLOC_CTX *mem_ctx, void *obj)\n{{\n"
                       f"    vs_init_{t.name}(mem_ctx, ({ct} *)obj);\n}}\n\n"
                       f"static const VsRegistryEntry vs_entry_{t.name} = {{\n"
                       f"    &vs_type_{t.name}, vs_walk_{t.name}, vs_prepare_{t.name},\n}};\n\n")
        out.append(f"void vs_schema_{self.m.module}_register(void)\n{{\n")
        out.extend(f"    vs_registry_add(&vs_entry_{t.name});\n" for t in types)
        out.append("}\n")
        return "".join(out)


def fail_if_any(calls: List[str]) -> List[str]:
    """`if (!a || !b ...) { return false; }` over @calls."""
    lines = [("if (!" if i == 0 else "    !") + c + (" ||" if i < len(calls) - 1 else ") {")
             for i, c in enumerate(calls)]
    return lines + ["    return false;", "}"]


def indent(lines: List[str]) -> List[str]:
    """@lines one level deeper (blank lines stay empty)."""
    return ["    " + x if x else "" for x in lines]


def if_open(cond: str) -> List[str]:
    """`if (cond) {`, broken before top-level && or || when the line is long."""
    if len(cond) <= 80:
        return [f"if ({cond}) {{"]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(cond):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and cond.startswith((" && ", " || "), i):
            parts.append(cond[start:i + 3])
            start = i + 4
    parts.append(cond[start:])
    return ([f"if ({parts[0]}" if len(parts) > 1 else f"if ({parts[0]}) {{"] +
            [f"    {p}" for p in parts[1:-1]] +
            ([f"    {parts[-1]}) {{"] if len(parts) > 1 else []))


def paren(text: str) -> str:
    """@text in parentheses unless it is a single operand (no operator outside
    parentheses: operators are always written with spaces around them)."""
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and ch == " ":
            return f"({text})"
    return text


def c_comment(text: str) -> str:
    return text.replace("*/", "* /")


def pred_text(pred: Optional[ast.Pred]) -> str:
    """The schema text of a predicate, normalised (what tools evaluate)."""
    if pred is None:
        return ""
    if pred.func:
        return pred.func + "()"
    assert pred.expr is not None
    return expr_text(pred.expr)


def expr_text(e: ast.Expr) -> str:
    if isinstance(e, ast.Num):
        return str(e.value)
    if isinstance(e, ast.Ref):
        return e.name
    if isinstance(e, ast.Unary):
        return f"{e.op}{expr_text(e.operand)}"
    assert isinstance(e, ast.Binary)
    return f"({expr_text(e.left)} {e.op} {expr_text(e.right)})"


def expr_helpers(code: str) -> str:
    """The arithmetic helpers @code calls, in a fixed order (unused static
    functions would warn)."""
    used = set(re.findall(r"\bvs_e_(\w+)\(", code))
    if used & {"add", "sub", "mul", "shl", "uint"}:
        used.add("wrap")
    parts = EXPR_HELPERS.rstrip("\n").split("\n}\n\n")
    parts = [p if p.endswith("}") else p + "\n}" for p in parts]
    return "".join(p + "\n\n" for p in parts
                   if re.search(r"\bvs_e_(\w+)\(", p) and
                   re.search(r"\bvs_e_(\w+)\(", p).group(1) in used)


# Arithmetic in predicates is 64-bit and total: no overflow, division by
# zero or oversized shift can make the generated code undefined.
EXPR_HELPERS = """\
static inline int64_t vs_e_wrap(uint64_t x)
{
    int64_t r;

    memcpy(&r, &x, sizeof(r));
    return r;
}

static inline int64_t vs_e_uint(uint64_t x)
{
    return vs_e_wrap(x);
}

static inline int64_t vs_e_int(int64_t x)
{
    return x;
}

static inline int64_t vs_e_add(int64_t a, int64_t b)
{
    return vs_e_wrap((uint64_t)a + (uint64_t)b);
}

static inline int64_t vs_e_sub(int64_t a, int64_t b)
{
    return vs_e_wrap((uint64_t)a - (uint64_t)b);
}

static inline int64_t vs_e_mul(int64_t a, int64_t b)
{
    return vs_e_wrap((uint64_t)a * (uint64_t)b);
}

static inline int64_t vs_e_div(int64_t a, int64_t b)
{
    return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b;
}

static inline int64_t vs_e_mod(int64_t a, int64_t b)
{
    return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a % b;
}

static inline int64_t vs_e_shl(int64_t a, int64_t b)
{
    return b < 0 || b > 63 ? 0 : vs_e_wrap((uint64_t)a << b);
}

static inline int64_t vs_e_shr(int64_t a, int64_t b)
{
    return b < 0 || b > 63 ? (a < 0 ? -1 : 0) : a >> b;
}

"""
