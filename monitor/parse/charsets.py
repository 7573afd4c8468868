"""Bytes -> text in the charset a server names, when it is a real one and the bytes fit it; else
the document's own (BOM, <meta>), else a guess. Never raises; a codec that rewrites what it decodes
(UTF-7, the escape codecs) is never believed.
"""

from __future__ import annotations

import codecs

import bs4

# Codecs Python has that are not a page's charset: they rewrite what they decode (UTF-7 turns
# "+ADw-" into "<"; the escape codecs read backslashes), so a server naming one is not believed.
_NOT_CHARSETS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined"})
_NOT_CHARSET_NAMES = sorted(
    _NOT_CHARSETS | {n.replace("-", "_") for n in _NOT_CHARSETS} | {"utf7", "x-unicode20utf7", "unicode-1-1-utf-7"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _charset(name: str | None) -> str | None:
    """The Python codec for a declared charset, or None when it names none (x-bogus, utf8mb4) or
    one no page is written in (base64, rot13, UTF-7, unicode_escape)."""
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _soup(body: bytes, encoding: str | None) -> bs4.BeautifulSoup:
    """The declared charset when it is one and the bytes really are in it; else the page's own
    (BOM, <meta>) or a guess."""
    codec = _charset(encoding)
    if codec:
        try:
            return bs4.BeautifulSoup(body.decode(codec), "lxml")
        except UnicodeDecodeError:
            pass
    return bs4.BeautifulSoup(body, "lxml", exclude_encodings=_NOT_CHARSET_NAMES)


def _decode(body: bytes, encoding: str | None) -> str:
    """Text that is not HTML: the declared charset if the bytes fit it, a BOM's, UTF-8, or a guess."""
    codec = _charset(encoding)
    tried = [codec] if codec else []
    tried += [c for bom, c in _BOMS if body.startswith(bom)] + ["utf-8"]
    for c in tried:
        try:
            return body.decode(c)
        except UnicodeDecodeError:
            continue
    guessed = bs4.UnicodeDammit(body, exclude_encodings=_NOT_CHARSET_NAMES).unicode_markup
    return guessed if guessed is not None else body.decode("utf-8", "replace")
