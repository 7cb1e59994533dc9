"""Tokens of the .vs schema language."""

import re
from dataclasses import dataclass
from typing import List

from .errors import Loc, SchemaError

# Longest first, so "<=" wins over "<".
PUNCT = [
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
    "{", "}", "[", "]", "(", ")", ";", ",", "*", "<", ">", "!", "~",
    "-", "+", "/", "%", "&", "|", "^",
]


@dataclass(frozen=True)
class Token:
    kind: str   # "ident", "int", "string", "punct", "eof"
    text: str
    loc: Loc
    value: int = 0


def advance(col: int, text: str) -> int:
    """The column after @text, starting at @col (tabs stop every 8 columns)."""
    for c in text:
        col += 8 - (col - 1) % 8 if c == "\t" else 1
    return col


def _skip_space_and_comments(src: str, i: int, line: int, col: int, path: str):
    while i < len(src):
        c = src[i]
        if c == "\n":
            i, line, col = i + 1, line + 1, 1
        elif c in " \t\r\f\v":
            i, col = i + 1, advance(col, c)
        elif src.startswith("//", i):
            while i < len(src) and src[i] != "\n":
                col = advance(col, src[i])
                i += 1
        elif src.startswith("/*", i):
            start = Loc(path, line, col)
            end = src.find("*/", i + 2)
            if end < 0:
                raise SchemaError(start, "unterminated comment")
            for c2 in src[i:end + 2]:
                if c2 == "\n":
                    line, col = line + 1, 1
                else:
                    col = advance(col, c2)
            i = end + 2
        else:
            break
    return i, line, col


def _is_ident_start(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z" or c == "_"


def _is_ident_char(c: str) -> bool:
    return _is_ident_start(c) or "0" <= c <= "9"


def _show_char(c: str) -> str:
    """A character as diagnostics quote it: itself when printable ASCII."""
    return f"'{c}'" if " " < c < "\x7f" else f"U+{ord(c):04X}"


_INTEGER = re.compile(r"(0|[1-9][0-9]*|0[xX][0-9a-fA-F]+)\Z")


def tokenize(src: str, path: str) -> List[Token]:
    """Split @src into tokens; raises SchemaError on a bad character."""
    tokens: List[Token] = []
    i, line, col = 0, 1, 1
    while True:
        i, line, col = _skip_space_and_comments(src, i, line, col, path)
        loc = Loc(path, line, col)
        if i >= len(src):
            tokens.append(Token("eof", "", loc))
            return tokens
        c = src[i]
        if _is_ident_start(c):
            j = i
            while j < len(src) and _is_ident_char(src[j]):
                j += 1
            tokens.append(Token("ident", src[i:j], loc))
        elif "0" <= c <= "9":
            j = i
            while j < len(src) and _is_ident_char(src[j]):
                j += 1
            text = src[i:j]
            if not _INTEGER.match(text):
                raise SchemaError(loc, f"bad integer '{text}' (integers are decimal without "
                                  "leading zeros, or 0x hexadecimal)")
            tokens.append(Token("int", text, loc, int(text, 0)))
        elif c == '"':
            j = i + 1
            while j < len(src) and src[j] != '"':
                if src[j] == "\n":
                    raise SchemaError(loc, "unterminated string (a string ends on its line)")
                if src[j] == "\\":
                    raise SchemaError(Loc(path, line, advance(col, src[i:j])),
                                      "backslash in a string (strings have no escapes)")
                if src[j] < " " or src[j] == "\x7f":
                    raise SchemaError(Loc(path, line, advance(col, src[i:j])),
                                      f"control character {_show_char(src[j])} in a string")
                j += 1
            if j >= len(src):
                raise SchemaError(loc, "unterminated string")
            j += 1
            tokens.append(Token("string", src[i + 1:j - 1], loc))
        else:
            for p in PUNCT:
                if src.startswith(p, i):
                    j = i + len(p)
                    tokens.append(Token("punct", p, loc))
                    break
            else:
                raise SchemaError(loc, f"unexpected character {_show_char(c)}")
        col = advance(col, src[i:j])
        i = j
