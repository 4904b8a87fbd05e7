"""What is shown of a message: escaped text and safe links, never the sender's markup."""

from __future__ import annotations

import re
import sys

import pytest
from bleach.linkifier import TLDS
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbox import display
from chatbox.display import _render_html_slow, render_html


def test_markup_is_shown_as_text() -> None:
    html = render_html('<img src=x onerror="alert(1)"><script>alert(2)</script>')
    assert html == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"
    )


def test_urls_become_links_that_open_safely() -> None:
    html = render_html("see https://example.com/a?b=1&c=2 now")
    assert html == (
        'see <a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" '
        'target="_blank">https://example.com/a?b=1&amp;c=2</a> now'
    )


def test_javascript_urls_are_not_linked() -> None:
    html = render_html("javascript:alert(1)")
    assert "<a" not in html


def test_quotes_cannot_break_out_of_a_link() -> None:
    html = render_html('https://example.com/"onmouseover="alert(1)')
    assert 'onmouseover="' not in html


def test_newlines_become_line_breaks() -> None:
    assert render_html("one\ntwo") == "one<br>two"


def test_bare_domains_still_become_links() -> None:
    assert render_html("see example.com now") == (
        'see <a href="http://example.com" rel="nofollow noopener noreferrer" '
        'target="_blank">example.com</a> now'
    )


def test_carriage_returns_render_as_bleach_renders_them() -> None:
    assert render_html("a\r\nb") == _render_html_slow("a\r\nb") == "a<br>b"


def _slow_path_must_not_run(text: str) -> str:
    raise AssertionError(f"took the slow path for {text!r}")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hi Pat, I'll send the revised draft tomorrow morning, thanks!",
        'Café, 5 < 6 & "quotes" 👍\n\tsecond line',
        "&amp; &lt;b&gt; &#39; not entities once escaped",
        "Thanks. See you at 5.",
        "v1.2 is out, e.g. in the 3.x line",
    ],
)
def test_text_without_a_link_skips_bleach(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(display, "_render_html_slow", _slow_path_must_not_run)

    assert render_html(text) == _render_html_slow(text)


@pytest.mark.parametrize(
    "text",
    [
        "see example.com now",
        "http://x.org",
        "example.\u212ay",  # KELVIN SIGN, a "k" to url_re
        "a\r\nb",
        "a\rb",
        "nul\x00",
        "bell\x07",
        "c1\x85",
    ],
)
def test_links_and_characters_bleach_rewrites_take_the_slow_path(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []

    def spy(text: str) -> str:
        taken.append(text)
        return _render_html_slow(text)

    monkeypatch.setattr(display, "_render_html_slow", spy)

    assert render_html(text) == _render_html_slow(text)
    assert taken == [text]


def test_no_domain_escapes_the_check_that_spares_url_re() -> None:
    # Every url_re match has a "." before its top-level domain; the fast path skips url_re
    # for text with no "." before a \w. Here: every letter url_re takes for a domain's first.
    letters = re.compile("|".join({tld[0] for tld in TLDS}), re.IGNORECASE)
    taken = set(letters.findall("".join(map(chr, range(sys.maxunicode + 1)))))

    assert "\u212a" in taken  # KELVIN SIGN
    assert all(display._DOT_WORD.search("." + letter) for letter in taken)


def test_a_link_across_html5libs_input_chunks_renders_as_bleach_renders_it() -> None:
    # html5lib reads its input 10240 characters at a time; the text must come out whole.
    text = "x " * 5117 + "example.com/a?b=1&c=2 and the rest é\n"

    assert render_html(text) == _render_html_slow(text)


# Pieces that bleach's URL pattern, html5lib's parser or bleach's cleaner react to: first
# those the fast path accepts, then code points it leaves to bleach or has to prove safe.
_URLISH = st.sampled_from(
    [
        "http://", "https://", "ftp://", "mailto:", "javascript:", "www.", "example", "a-b",
        ".com", ".co", ".uk", ".org", ".xn", ".museum", ".", ",", ":", ":8080", "/", "/p?q=1",
        "?", "#", "~", "(", ")", "[", "]", "{", "|", "\\", "^", "`", "@", "bob@mail.net",
        "&", "&amp;", "&lt;", "&#x27;", "&#39;", "&quot;", "&nbsp;", "&#0;", "&notin;", ";",
        "<", ">", "<a href=x>", "</a>", "<b>", '"', "'", "=", " ", "  ", "\t", "\n", "x", "é",
    ]
)  # fmt: skip
_ODD = st.sampled_from(
    [
        "\r", "\r\n", "\x00", "\x07", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\xa0",
        "\u2028", "\u3000", "\u200b", "\ufeff", "\ufdd0", "\ufffd", "\uffff", "\U0001fffe",
        "\U0010ffff", "\ue000", "\U000f0000", "\U000e0001", "\u0378", "\ud800", "\udfff",
        "ß", "İ", "\u212a", "\u017f", "\u0661", "😀",
    ]
)  # fmt: skip
_ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates included
_TEXTS = st.one_of(
    st.text(),
    st.text(_ANY_CHARACTER),
    st.lists(st.one_of(_URLISH, _ODD, st.text(_ANY_CHARACTER, max_size=3)), max_size=30).map(
        "".join
    ),
    # Near misses: text that looks like a link, made only of what the fast path accepts.
    st.lists(st.one_of(_URLISH, st.text("ab.-/:@_ 1", max_size=3)), max_size=20).map("".join),
)


@settings(max_examples=2000, deadline=None)
@given(_TEXTS)
def test_render_html_matches_bleach_for_any_text(text: str) -> None:
    assert render_html(text) == _render_html_slow(text)
