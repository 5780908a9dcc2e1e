"""Translations: English message ids, Vietnamese first.

Catalogues are the `.po` files in core/locale/<lang>/messages.po (and ui's own), read with
babel at first use; no compiled `.mo` files are needed at run time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import Translations

SUPPORTED_LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
_CATALOG_DIRS: list[Path] = [Path(__file__).parent / "locale"]


def register_catalog_dir(path: Path) -> None:
    """Let another package (the UI) add its own catalogues; call before first use."""
    if path not in _CATALOG_DIRS:
        _CATALOG_DIRS.append(path)
        translations.cache_clear()


@lru_cache(maxsize=8)
def translations(locale: str) -> Translations:
    merged = Translations()
    # every catalogue of the locale: messages.po, then one per screen area (tickets.po, admin.po…)
    files = [po for directory in _CATALOG_DIRS
             for po in sorted((directory / locale).glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))]
    for po in files:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in catalog:
            if message.id and message.string and not message.fuzzy:
                key = message.id if isinstance(message.id, str) else message.id[0]
                value = message.string if isinstance(message.string, str) else message.string[0]
                merged._catalog[key] = value
    return merged


def negotiate_locale(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick vi or en from an Accept-Language header; Vietnamese unless English is preferred."""
    if not accept_language:
        return default
    best, best_q = default, -1.0
    for part in accept_language.split(","):
        pieces = part.strip().split(";")
        lang = pieces[0].strip().lower().split("-")[0]
        q = 1.0
        for p in pieces[1:]:
            p = p.strip()
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if lang in SUPPORTED_LOCALES and 0 < q and q > best_q:
            best, best_q = lang, q
    return best


def translate(message: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    text = translations(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE).gettext(message)
    return text.format(**params) if params else text
