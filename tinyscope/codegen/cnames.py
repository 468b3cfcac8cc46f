"""Model names are data: the only ways they may reach C text are through these functions.

Everything here is an allowlist, never a blocklist:
- identifiers never contain model text at all (prefix + index), so a name cannot change a token;
- comments keep only characters that cannot end a comment, start a trigraph or splice a line;
- string literals keep letters, digits and ``_ .-``; every other byte of the UTF-8 text is a
  three-digit octal escape (octal, not hex: ``\\x`` escapes swallow the hex digits after them).
"""

from __future__ import annotations

import re
import string

from tinyscope.errors import InputError

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline int
long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert
_Thread_local asm typeof main
""".split())
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# No '*', '/', '\\', '?' (comment ends, trigraphs, splices), no '`', no control characters, ASCII only.
COMMENT_CHARS = frozenset(string.ascii_letters + string.digits + " _-.,:;=+()[]<>{}#@%&|^~!$'\"")
STRING_CHARS = frozenset(string.ascii_letters + string.digits + " _.-")


def check_prefix(name: str) -> str:
    """The user's --name: it becomes a C identifier prefix, so it must already be a valid one."""
    if not _IDENT.fullmatch(name) or name in C_KEYWORDS or len(name) > 40 or name.startswith("__"):
        raise InputError(f"--name {name[:60]!r} is not usable as a C identifier prefix "
                         "(letters, digits and _, not starting with a digit or '__', not a C keyword, "
                         "at most 40 characters)")
    return name


def identifier(prefix: str, kind: str, index: int) -> str:
    """A C identifier for generated data: ``prefix`` is checked, ``kind`` is tinyscope's own word,
    ``index`` makes it unique. Model names never take part, so they cannot collide or inject."""
    ident = f"{prefix}_{kind}{index}"
    assert _IDENT.fullmatch(ident), ident
    return ident


def comment(text: str, limit: int = 100) -> str:
    """Text that is safe inside a ``/* */`` comment: allowed characters kept, any other becomes '_'."""
    s = "".join(ch if ch in COMMENT_CHARS else "_" for ch in text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def string_literal(text: str, limit: int = 120) -> str:
    """A C string literal, quotes included, that holds ``text``'s UTF-8 bytes exactly (cut to
    ``limit`` bytes, then marked with '...')."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        data = data[: limit - 3] + b"..."
    return '"' + "".join(chr(b) if chr(b) in STRING_CHARS else f"\\{b:03o}" for b in data) + '"'
