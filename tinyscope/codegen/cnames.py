"""Model names are data: the only ways they may reach C text are through these functions."""

from __future__ import annotations

import re

from tinyscope.errors import InputError

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline int
long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert
_Thread_local asm typeof main
""".split())
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_prefix(name: str) -> str:
    """The user's --name: it becomes a C identifier prefix, so it must already be a valid one."""
    if not _IDENT.match(name) or name in C_KEYWORDS or len(name) > 40 or name.startswith("__"):
        raise InputError(f"--name {name!r} is not usable as a C identifier prefix "
                         "(letters, digits and _, not starting with a digit or '__', not a C keyword)")
    return name


def identifier(prefix: str, index: int, name: str, limit: int = 32) -> str:
    """A unique C identifier for a model tensor: prefix and index make it unique, the sanitized
    name (only [A-Za-z0-9_]) makes it readable."""
    tail = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")[:limit]
    return f"{prefix}_{index}" + (f"_{tail}" if tail else "")


def comment(text: str, limit: int = 100) -> str:
    """Text that is safe inside a /* */ comment: printable ASCII only, no comment delimiters, no
    trigraphs, no line splices."""
    s = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text.replace("\n", " "))
    s = s.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?").replace("\\", "/")
    return s if len(s) <= limit else s[: limit - 3] + "..."
