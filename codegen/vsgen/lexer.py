"""Tokens of the .vs schema language."""

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


def _skip_space_and_comments(src: str, i: int, line: int, col: int, path: str):
    while i < len(src):
        c = src[i]
        if c == "\n":
            i, line, col = i + 1, line + 1, 1
        elif c in " \t\r\f\v":
            i, col = i + 1, col + (8 - (col - 1) % 8 if c == "\t" else 1)
        elif src.startswith("//", i):
            while i < len(src) and src[i] != "\n":
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
                    col += 1
            i = end + 2
        else:
            break
    return i, line, col


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
        if c.isalpha() or c == "_":
            j = i
            while j < len(src) and (src[j].isalnum() or src[j] == "_"):
                j += 1
            tokens.append(Token("ident", src[i:j], loc))
        elif c.isdigit():
            j = i
            while j < len(src) and (src[j].isalnum() or src[j] == "_"):
                j += 1
            text = src[i:j]
            try:
                value = int(text, 0)
            except ValueError:
                raise SchemaError(loc, f"bad integer '{text}'") from None
            tokens.append(Token("int", text, loc, value))
        elif c == '"':
            j = i + 1
            while j < len(src) and src[j] != '"':
                if src[j] in "\n\\":
                    raise SchemaError(Loc(path, line, col + j - i),
                                      "string literals are one line, without escapes")
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
                raise SchemaError(loc, f"unexpected character '{c}'")
        col += j - i
        i = j
