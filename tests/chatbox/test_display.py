"""What is shown of a message: escaped text and safe links, never the sender's markup."""

from __future__ import annotations

from chatbox.display import render_html


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
