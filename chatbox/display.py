"""What is shown of a message: escaped, linkified text, made once when the event is stored."""

from __future__ import annotations

import html
import re

from bleach.linkifier import Linker
from bleach.sanitizer import Cleaner

_SAFE_REL = "nofollow noopener noreferrer"


def _safe_link(attrs: dict, new: bool = False) -> dict:
    href = attrs.get((None, "href"), "")
    if not href.lower().startswith(("http://", "https://", "mailto:")):
        return attrs
    attrs[(None, "rel")] = _SAFE_REL
    attrs[(None, "target")] = "_blank"
    return attrs


_linker = Linker(callbacks=[_safe_link], parse_email=False)
# Allow only the anchors linkify made; anything else that slipped through is escaped. Made
# once: building a Cleaner (its HTML parser) costs more than cleaning one message.
_cleaner = Cleaner(
    tags={"a"},
    attributes={"a": ["href", "rel", "target"]},
    protocols={"http", "https", "mailto"},
    strip=False,
)


# All code points but those html5lib or bleach may rewrite in plain text: "\r" (folded into
# "\n"), NUL (dropped), the other C0 controls (bleach's INVISIBLE_CHARACTERS, made "?"), and
# DEL, the C1 controls, surrogates and noncharacters (html5lib's invalid_unicode_re: only
# reported today, left out should a release start replacing them). Neither library looks
# anything else up in the Unicode database, so private-use and unassigned code points pass
# through as they are.
_UNTOUCHED = re.compile(
    "[\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd"
    + "".join(f"{chr(plane << 16)}-{chr(plane << 16 | 0xFFFD)}" for plane in range(1, 17))
    + "]*"
)


# Every url_re match has a "." right before its top-level domain, whose first letter is \w
# even where url_re matches it ignoring case ("K", KELVIN SIGN, for "k"). Text with no "."
# before a \w is spared url_re, which costs some 15 µs a message.
_DOT_WORD = re.compile(r"\.\w")


def _has_link(escaped: str) -> bool:
    return _DOT_WORD.search(escaped) is not None and _linker.url_re.search(escaped) is not None


def _render_html_slow(text: str) -> str:
    escaped = html.escape(text, quote=True)
    return _cleaner.clean(_linker.linkify(escaped)).replace("\n", "<br>")


def render_html(text: str) -> str:
    """Escape everything the user typed, then turn bare URLs into safe links.

    Escaping first means linkify only ever sees text, never markup of the sender's.
    """
    escaped = html.escape(text, quote=True)
    # Most messages hold no link, and then bleach (some 250 µs) only parses the escaped text
    # and writes it back out. Linkify runs url_re on the parsed text, which is this text
    # without its leading and trailing whitespace, and url_re's lookarounds treat whitespace
    # as they treat the ends of a string: no link here means no anchor there. With only
    # _UNTOUCHED code points, parsing and both serialisations give back the same characters,
    # the entities html.escape made included.
    if _UNTOUCHED.fullmatch(text) and not _has_link(escaped):
        return escaped.replace("\n", "<br>")
    return _render_html_slow(text)
