"""What is shown of a message: escaped, linkified text, made once when the event is stored."""

from __future__ import annotations

import html

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


def render_html(text: str) -> str:
    """Escape everything the user typed, then turn bare URLs into safe links.

    Escaping first means linkify only ever sees text, never markup of the sender's.
    """
    escaped = html.escape(text, quote=True)
    return _cleaner.clean(_linker.linkify(escaped)).replace("\n", "<br>")
