"""Source locations and schema errors, reported as file:line:col: message."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A position in a schema file (line and column count from 1)."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class SchemaError(Exception):
    """An error in a schema; str() is the compiler-style diagnostic."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc
        self.message = message
