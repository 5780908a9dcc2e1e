"""Text folding shared by every search in the product: documents and queries go through the same
`fold()`, so "dang ky thuong tru", "Đăng ký thường trú" and "ĐĂNG KÝ THƯỜNG TRÚ" meet."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case, without Vietnamese diacritics (NFD, combining marks stripped), đ → d."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).casefold()


def folded_words(text: str) -> list[str]:
    """The words of `text`, folded, in order (punctuation and query operators dropped)."""
    return [w for w in _WORD.findall(fold(text)) if w != "_"]
