"""Untrusted text (a corpus, a plugin's messages) made safe to print on a terminal (a leaf module)."""
from __future__ import annotations

import unicodedata


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences) shown as ``\\x1b``-style escapes."""
    return "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" and c != "\n"
                   else c for c in str(text))
