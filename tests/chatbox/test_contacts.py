"""The contact-detail detector (``chatbox.contacts``), its labelled corpus and the
``scan_contacts`` command."""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbox.contacts import Kind, Span, mask, scan

CORPUS = Path(__file__).with_name("contacts_corpus.jsonl")
ROOT = Path(__file__).resolve().parents[2]


def full_width(ascii_text: str) -> str:
    """The full-width form of ASCII text ("5" as "\uff15"), as CJK keyboards type it."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ascii_text)


def found(text: str) -> list[tuple[str, Kind]]:
    """What scan finds, as the original text of each span and its kind."""
    return [(text[span.start : span.end], span.kind) for span in scan(text)]


# --- Each kind ----------------------------------------------------------------------------------

PHONES = [
    ("call me on (415) 555-0132 after 6pm", "(415) 555-0132"),
    ("my cell is 555-867-5309, text anytime", "555-867-5309"),
    ("WhatsApp: +91 98765 43210", "+91 98765 43210"),
    ("Tel. +33 6 12 34 56 78", "+33 6 12 34 56 78"),
    ("phone number 0044 20 7946 0958, ask for the studio", "0044 20 7946 0958"),
    ("if you prefer voice, ring me on 07700 900456", "07700 900456"),
    ("pls call 5551234567 I can explain", "5551234567"),
    ("5550175432 call me", "5550175432"),
    ("Office: 415-555-0100 ext. 12", "415-555-0100"),
    ("my number is 555-0142", "555-0142"),
    ("call me 555 0188, I'm free in the evenings", "555 0188"),
    ("my husband's number in case I'm offline: 555-410-2288", "555-410-2288"),
]


@pytest.mark.parametrize(("text", "phone"), PHONES)
def test_scan_finds_phone_numbers(text: str, phone: str) -> None:
    assert found(text) == [(phone, Kind.PHONE)]


OBFUSCATED_PHONES = {
    "spelled out": (
        "call me at five five five one two three four",
        "five five five one two three four",
    ),
    "oh for zero": (
        "text me: four one five five five five oh one three two",
        "four one five five five five oh one three two",
    ),
    "o for zero": (
        "my number six four six five five five o one nine eight",
        "six four six five five five o one nine eight",
    ),
    "spelled with commas": (
        "my number is five five five, eight six seven, five three oh nine",
        "five five five, eight six seven, five three oh nine",
    ),
    "words and digits": (
        "four one five 555 oh one three two, whatsapp",
        "four one five 555 oh one three two",
    ),
    "double and triple": (
        "nine one seven, triple five, oh one one one",
        "nine one seven, triple five, oh one one one",
    ),
    "spoken dashes": ("number is 555 dash 867 dash 5309", "555 dash 867 dash 5309"),
    "spaces": ("5 5 5 1 2 3 4 5 6 7 whatsapp me there", "5 5 5 1 2 3 4 5 6 7"),
    "dots": ("5.5.5.8.6.7.5.3.0.9 call after 5", "5.5.5.8.6.7.5.3.0.9"),
    "dashes": ("my num is 5-5-5-0-1-9-8-7-6-5", "5-5-5-0-1-9-8-7-6-5"),
    "underscores": ("555_123_4567 is my whatsapp", "555_123_4567"),
    "zero-width characters": ("my no is 555\u200c867\u200d5309", "555\u200c867\u200d5309"),
    "word joiners": ("wa +1\u2060415\u2060555\u20600132", "+1\u2060415\u2060555\u20600132"),
    "byte order marks": ("text 555\ufeff234\ufeff8899", "555\ufeff234\ufeff8899"),
    "full-width digits": (full_width("555-123-4567") + " call me", full_width("555-123-4567")),
    "superscript digits": ("my number: ⁵⁵⁵ ¹²³ ⁴⁵⁶⁷", "⁵⁵⁵ ¹²³ ⁴⁵⁶⁷"),
    "Devanagari digits": ("मेरा नंबर ९८७६५४३२१० है", "९८७६५४३२१०"),
    "O for 0": ("my number 5O5 555 O1O9", "5O5 555 O1O9"),
    "l for 1": ("call 555 l23 4567", "555 l23 4567"),
    "I for 1": ("text 2I2 555 0I47 if you want to discuss", "2I2 555 0I47"),
}


@pytest.mark.parametrize(
    ("text", "phone"), OBFUSCATED_PHONES.values(), ids=OBFUSCATED_PHONES.keys()
)
def test_scan_sees_through_obfuscated_phone_numbers(text: str, phone: str) -> None:
    # The span indexes the original text, obfuscation included.
    assert found(text) == [(phone, Kind.PHONE)]


EMAILS = {
    "plain": ("send the files to jenna.morris@gmail.com please", "jenna.morris@gmail.com"),
    "at and dot": ("my email is anna dot lee at gmail dot com", "anna dot lee at gmail dot com"),
    "square brackets": ("anna [at] leedesign [dot] com", "anna [at] leedesign [dot] com"),
    "parentheses": ("write me: tom(at)tomwrites(dot)net", "tom(at)tomwrites(dot)net"),
    "capitals": ("jsmith AT hotmail DOT com", "jsmith AT hotmail DOT com"),
    "spaced": ("my mail: peter @ gmail . com", "peter @ gmail . com"),
    "provider only": ("email me on ahmed.rashid at outlook", "ahmed.rashid at outlook"),
    "zero-width": ("kevin\u200b@\u200bgmail.com", "kevin\u200b@\u200bgmail.com"),
    "full-width": (full_width("lucy@mail.com"), full_width("lucy@mail.com")),
    "provider handle": ("my gmail is chrisdesigns92", "chrisdesigns92"),
}


@pytest.mark.parametrize(("text", "email"), EMAILS.values(), ids=EMAILS.keys())
def test_scan_finds_email_addresses(text: str, email: str) -> None:
    assert found(text) == [(email, Kind.EMAIL)]


LINKS = {
    "scheme": (
        "Here's my portfolio: https://www.behance.net/anna-lee.",
        "https://www.behance.net/anna-lee",
    ),
    "www": ("check my site www.danielkraus.design", "www.danielkraus.design"),
    "bare domain and path": ("samples are on tomwrites.net/samples", "tomwrites.net/samples"),
    "dot spelled out": ("go to my website johnsmithphoto dot com", "johnsmithphoto dot com"),
    "bracketed dot": ("pixelforge[.]io has more examples", "pixelforge[.]io"),
    "git host": ("https://github.com/okonkwo-dev/portfolio has my code", None),
}


@pytest.mark.parametrize(("text", "link"), LINKS.values(), ids=LINKS.keys())
def test_scan_finds_web_links(text: str, link: str | None) -> None:
    assert found(text) == [(link or text.split()[0], Kind.URL)]


# PROTOCOL.md §4 hides "messenger links and handles": a link that opens a messenger or a
# social profile is a handle, one that dials or mails is a phone number or an e-mail address.
APP_LINKS = {
    "WhatsApp": ("wa.me/447700900123", "wa.me/447700900123", Kind.HANDLE),
    "Telegram": ("join me here t.me/annaleedesign", "t.me/annaleedesign", Kind.HANDLE),
    "Discord invite": (
        "my server https://discord.gg/pixelforge.",
        "https://discord.gg/pixelforge",
        Kind.HANDLE,
    ),
    "Instagram profile": (
        "instagram.com/inkandpine for more",
        "instagram.com/inkandpine",
        Kind.HANDLE,
    ),
    "subdomain": (
        "join chat.whatsapp.com/Fh3kLm9Qx2TzR",
        "chat.whatsapp.com/Fh3kLm9Qx2TzR",
        Kind.HANDLE,
    ),
    "messenger scheme": (
        "viber://chat?number=%2B15551234567",
        "viber://chat?number=%2B15551234567",
        Kind.HANDLE,
    ),
    "tel scheme": ("tap tel:+15558675309 to call", "tel:+15558675309", Kind.PHONE),
    "mailto scheme": ("mailto:jess.r@fastmail.com", "mailto:jess.r@fastmail.com", Kind.EMAIL),
}


@pytest.mark.parametrize(("text", "link", "kind"), APP_LINKS.values(), ids=APP_LINKS.keys())
def test_links_to_messengers_phones_and_mail_are_those_details(
    text: str, link: str, kind: Kind
) -> None:
    assert found(text) == [(link, kind)]


HANDLES = {
    "telegram colon": ("telegram: @annalee_design", "@annalee_design"),
    "my skype is": ("my skype is kraus.daniel", "kraus.daniel"),
    "discord tag": ("add me on discord pixelguy#4821", "pixelguy#4821"),
    "insta": ("insta @inkandpine", "@inkandpine"),
    "wechat id": ("my wechat id is liwei_88", "liwei_88"),
    "skype live id": ("skype id live:.cid.7a3f92c1e45b", "live:.cid.7a3f92c1e45b"),
    "signal": ("signal: @dana.42", "@dana.42"),
    "snap after on": ("hit me up on snap, jenna.snaps", "jenna.snaps"),
    "plain name after a colon": ("Add me on Discord: nightowl", "nightowl"),
    "verb then handle": ("Follow me @brandnest_studio on instagram", "@brandnest_studio"),
    "handle then messenger": ("I'm rosa.lima on Skype", "rosa.lima"),
    "handle near messenger": ("Discord is easier, I'm jayden_codes there", "jayden_codes"),
    "handle that looks like a domain": ("my skype: daniel.kraus.design", "daniel.kraus.design"),
}


@pytest.mark.parametrize(("text", "handle"), HANDLES.values(), ids=HANDLES.keys())
def test_scan_finds_messenger_handles(text: str, handle: str) -> None:
    assert found(text) == [(handle, Kind.HANDLE)]


PAYMENTS = {
    "paypal.me": ("You can pay me at paypal.me/annaleedesign", "paypal.me/annaleedesign"),
    "paypal e-mail": ("paypal: jenna.morris@gmail.com, no fees", "jenna.morris@gmail.com"),
    "paypal written-out e-mail": (
        "pay via paypal to tom at tomwrites dot net",
        "tom at tomwrites dot net",
    ),
    "venmo": ("venmo @Tom-Writes-22", "@Tom-Writes-22"),
    "cashapp": ("cashapp $kraussound", "$kraussound"),
    "zelle phone": ("zelle to 555-123-4567 works for me", "555-123-4567"),
    "zelle e-mail": ("I take Zelle: dana.k@yahoo.com", "dana.k@yahoo.com"),
    "revolut": ("Revolut @marcov", "@marcov"),
    "wise link": ("wise.com/pay/me/danielk", "wise.com/pay/me/danielk"),
    "IBAN grouped": ("IBAN: DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
    "IBAN compact": ("my iban is FR1420041010050500013M02606", "FR1420041010050500013M02606"),
    "account number": ("account number 12345678, thanks", "12345678"),
    "routing number": ("routing 021000021", "021000021"),
    "sort code": ("sort code 12-34-56", "12-34-56"),
    "visa": ("card 4111 1111 1111 1111 exp 09/28", "4111 1111 1111 1111"),
    "mastercard": ("Card: 5555-5555-5555-4444", "5555-5555-5555-4444"),
    "amex": ("use my other card 3782 822463 10005", "3782 822463 10005"),
    "bitcoin bech32": (
        "send to btc bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ),
    "bitcoin legacy": (
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa is my address",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    ),
    "bitcoin script": (
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy for the rest",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    ),
    "ethereum": (
        "ETH: 0x52908400098527886E0F7030069857D2E4169EE7",
        "0x52908400098527886E0F7030069857D2E4169EE7",
    ),
}


@pytest.mark.parametrize(("text", "detail"), PAYMENTS.values(), ids=PAYMENTS.keys())
def test_scan_finds_off_platform_payment_details(text: str, detail: str) -> None:
    assert found(text) == [(detail, Kind.PAYMENT)]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN: DE88 3704 0044 0532 0130 00",  # check digits off by one: mod-97 fails
        "card 4111 1111 1111 1112",  # Luhn fails
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb is the code",  # base58 checksum fails
    ],
)
def test_scan_checks_the_checksums_of_payment_numbers(text: str) -> None:
    assert scan(text) == []


# --- What it does not fire on -------------------------------------------------------------------

NOT_CONTACT = {
    "prices": [
        "I can do it for $500 including two revisions",
        "Budget is 1,200 USD fixed",
        "€40/hour is fine for the translation",
        "budget: 5 500 USD, negotiable",
        "the package is 1 250 000 VND",
        "hourly: 35 $/h, about 40 h total = 1400 $",
    ],
    "dates": [
        "Deadline is 2026-11-21",
        "Can we push delivery to 21/11/2026?",
        "I'm away Nov 21 - Nov 28",
        "Timeline: 01.02.2026 - 15.02.2026 design",
    ],
    "times": [
        "Let's talk at 10:30 tomorrow",
        "call me at 3pm",
        "between 2 and 4 pm EST works",
        "the podcast timestamps are 00:03:12, 00:15:40 and 01:02:55",
    ],
    "quantities and sizes": [
        "500 words per article, 12 articles",
        "banner 1920x1080 and 1080 x 1920 for stories",
        "12 pages, A4, 300 dpi",
        "the file is 2.5 GB",
        "we want to reach 1 000 000 followers",
        "conversion went up 12.5%",
    ],
    "order, invoice and tracking numbers": [
        "order #123456789 is the one with the wrong logo",
        "invoice 2026-0042 is attached",
        "tracking 1Z999AA10123456784",
        "Order number 1123581321 was refunded",
        "your ticket id: 5551234567",
        "SKU 8801234567890",
        "the ref no is 9988776655",
        "Unix timestamp 1767225600 for the launch post",
    ],
    "versions": [
        "upgraded to v2.3.1",
        "we're on Python 3.11.4 and Django 5.2.14",
        "Windows version 10.0.19045.3693",
    ],
    "ISBNs": ["ISBN 978-3-16-148410-0", "the ebook's ISBN is 9781234567897"],
    "lists of numbers": [
        "Sizes S M L XL, quantities 120 240 240 80",
        "the CSV has columns 1 2 3 4 5 6 7 8 9 10",
        "the lottery numbers on the poster are placeholders: 07 12 19 23 38 44",
    ],
    "code": ["const MAX = 2147483647; // int32 max", "npm i react@18.2.0"],
    "file and software names": [
        "file names: logo_final.ai, logo_final.pdf, brief.docx",
        "ASP.NET Core backend with Vue.js frontend and Socket.io",
        "image-1920x1080@2x.png is the retina one",
        "the readme.md explains the setup",
    ],
    "platforms without a detail": [
        "Can we continue on WhatsApp?",
        "Do you accept PayPal?",
        "my skype is broken, can we use the chat here?",
        "For Instagram: carousel posts and reels",
        "the line height on mobile is off",
        "the whatsapp share button opens wa.me with the page URL",
    ],
    "at and dot as words": [
        "I'm good at Python and at SQL",
        "The dot at the end of the logo looks off",
        "look at the header. Com- sorry, I meant the footer",
    ],
}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(text, id=f"{group}: {text}")
        for group, texts in NOT_CONTACT.items()
        for text in texts
    ],
)
def test_scan_does_not_fire_on_ordinary_numbers_and_words(text: str) -> None:
    assert scan(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 5551234567", [("5551234567", Kind.PHONE)]),
        ("order 5551234567", []),
        ("ring me on 555 0188", [("555 0188", Kind.PHONE)]),
        ("5550188 views so far", []),
        ("invoice no. 1000234567", []),
        ("Contact no. +63 917 555 0123", [("+63 917 555 0123", Kind.PHONE)]),
    ],
)
def test_the_words_around_a_digit_run_decide_whether_it_is_a_phone(
    text: str, expected: list[tuple[str, Kind]]
) -> None:
    assert found(text) == expected


# --- Merging ------------------------------------------------------------------------------------


def test_scan_returns_details_in_order_of_position() -> None:
    text = "call 555-123-4567 or mail me at tom@tomwrites.net, portfolio tomwrites.net"

    assert found(text) == [
        ("555-123-4567", Kind.PHONE),
        ("tom@tomwrites.net", Kind.EMAIL),
        ("tomwrites.net", Kind.URL),
    ]


def test_overlapping_details_merge_into_the_most_specific_kind() -> None:
    # The domain of a spaced-out address is also a link; the address is what it is.
    assert found("ping me: nora.b @ proton.me") == [("nora.b @ proton.me", Kind.EMAIL)]
    # An e-mail address given as a PayPal account is a payment detail.
    assert found("paypal: jenna.morris@gmail.com") == [("jenna.morris@gmail.com", Kind.PAYMENT)]


# --- mask() -------------------------------------------------------------------------------------

MIXED = (
    "call 555-123-4567, mail tom@tomwrites.net, see tomwrites.net/work, "
    "telegram @tomw, pay paypal.me/tomw"
)


def test_mask_replaces_each_kind_with_its_placeholder() -> None:
    # when
    masked, redactions = mask(MIXED, scan(MIXED), kinds=set(Kind))

    # then
    assert masked == (
        "call [phone hidden], mail [email hidden], see [link hidden], "
        "telegram [handle hidden], pay [payment details hidden]"
    )
    assert redactions == [
        {"start": 5, "end": 17, "kind": "phone"},
        {"start": 24, "end": 41, "kind": "email"},
        {"start": 47, "end": 65, "kind": "url"},
        {"start": 76, "end": 81, "kind": "handle"},
        {"start": 87, "end": 101, "kind": "payment"},
    ]
    assert [MIXED[r["start"] : r["end"]] for r in redactions] == [
        "555-123-4567",
        "tom@tomwrites.net",
        "tomwrites.net/work",
        "@tomw",
        "paypal.me/tomw",
    ]


def test_mask_hides_only_the_kinds_asked_for() -> None:
    masked, redactions = mask(MIXED, scan(MIXED), kinds={Kind.PAYMENT})

    assert masked == (
        "call 555-123-4567, mail tom@tomwrites.net, see tomwrites.net/work, "
        "telegram @tomw, pay [payment details hidden]"
    )
    assert redactions == [{"start": 87, "end": 101, "kind": "payment"}]


def test_mask_redactions_index_the_original_text() -> None:
    text = "my no is 555\u200c867\u200d5309, " + full_width("lucy@mail.com") + " too"

    masked, redactions = mask(text, scan(text), kinds=set(Kind))

    assert masked == "my no is [phone hidden], [email hidden] too"
    assert redactions == [
        {"start": 9, "end": 21, "kind": "phone"},
        {"start": 23, "end": 36, "kind": "email"},
    ]


def test_mask_without_spans_changes_nothing() -> None:
    assert mask("Deadline is 2026-11-21", [], kinds=set(Kind)) == ("Deadline is 2026-11-21", [])


def test_mask_skips_a_span_that_overlaps_one_already_masked() -> None:
    spans = [Span(0, 4, Kind.PHONE), Span(2, 6, Kind.EMAIL)]

    assert mask("abcdefgh", spans, kinds=set(Kind)) == (
        "[phone hidden]efgh",
        [{"start": 0, "end": 4, "kind": "phone"}],
    )


# --- Any text -----------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "call ", "five ", "oh ", "555", "-", ".", " at ", " dot ", "@", "gmail", ".com",
        "\u200b", "\uff15", "O", "l", "+44 ", "paypal ", "IBAN DE89 ", "t.me/", "$", "#1234",
        "skype: ", "[at]", "(dot)", " ", "\n", "0x", "bc1q", "www.", "https://",
    ]
)  # fmt: skip
TEXTS = st.one_of(
    st.text(),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=4)), max_size=40).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_scan_returns_sorted_disjoint_spans_within_any_text(text: str) -> None:
    spans = scan(text)

    assert all(0 <= span.start < span.end <= len(text) for span in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert all(isinstance(span.kind, Kind) for span in spans)
    _, redactions = mask(text, spans, kinds=set(Kind))
    assert [(r["start"], r["end"]) for r in redactions] == [(s.start, s.end) for s in spans]


# --- The labelled corpus ------------------------------------------------------------------------


def corpus() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def test_the_corpus_is_large_half_clean_and_labels_every_kind() -> None:
    lines = corpus()
    contact = [line for line in lines if line["contact"]]
    clean = [line for line in lines if not line["contact"]]

    assert len(lines) >= 400
    assert len(clean) >= 200
    assert len(clean) >= len(lines) / 2 - 10
    assert len({line["text"] for line in lines}) == len(lines)
    assert all(line["kinds"] == [] for line in clean)
    assert all(line["kinds"] and set(line["kinds"]) <= set(Kind) for line in contact)
    assert {kind for line in contact for kind in line["kinds"]} == set(Kind)


def test_corpus_recall_is_at_least_95_percent_with_at_most_2_percent_false_positives() -> None:
    lines = corpus()
    contact = [line["text"] for line in lines if line["contact"]]
    clean = [line["text"] for line in lines if not line["contact"]]

    missed = [text for text in contact if not scan(text)]
    flagged = [(text, found(text)) for text in clean if scan(text)]

    assert 1 - len(missed) / len(contact) >= 0.95, missed
    assert len(flagged) / len(clean) <= 0.02, flagged


# --- manage.py scan_contacts ------------------------------------------------------------------


def test_scan_contacts_answers_every_line_and_names_the_bad_ones(tmp_path: Path) -> None:
    # given
    stdin = b"\n".join(
        [
            json.dumps({"id": 1, "text": "call me on 555-867-5309"}).encode(),
            json.dumps({"id": "b", "text": "Deadline is 2026-11-21, budget $500"}).encode(),
            b"not json",
            json.dumps({"id": 3}).encode(),
            json.dumps({"id": 4, "text": 42}).encode(),
            json.dumps(["id", 5]).encode(),
            b"",
            b'{"id": 6, "text": "\xff"}',
            b'{"id": NaN, "text": "call 555-867-5309"}',
            json.dumps({"id": 7, "text": full_width("lucy@mail.com")}, ensure_ascii=False).encode(),
        ]
    )
    env = {**os.environ, "DATA_DIR": str(tmp_path)}

    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "scan_contacts"],
        input=stdin + b"\n",
        capture_output=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=300,  # a guard against a hang, not a speed check
    )

    # then
    assert result.returncode == 0, result.stderr.decode()
    assert [json.loads(line) for line in result.stdout.decode().splitlines()] == [
        {"id": 1, "contact": True, "spans": [[11, 23, "phone"]]},
        {"id": "b", "contact": False, "spans": []},
        {"id": None, "line": 3, "error": "invalid JSON: Expecting value: line 1 column 1 (char 0)"},
        {"id": 3, "line": 4, "error": 'missing "text"'},
        {"id": 4, "line": 5, "error": '"text" must be a string'},
        {"id": None, "line": 6, "error": "expected a JSON object"},
        {"id": None, "line": 8, "error": "not UTF-8: invalid start byte"},
        {"id": None, "line": 9, "error": "invalid JSON: NaN is not valid JSON"},
        {"id": 7, "contact": True, "spans": [[0, 13, "email"]]},
    ]


def test_scan_contacts_reads_the_stdin_it_is_given() -> None:
    stdin = io.StringIO('{"id": 1, "text": "venmo @Tom-Writes-22"}\n')
    stdout = io.StringIO()

    call_command("scan_contacts", stdin=stdin, stdout=stdout)

    assert stdout.getvalue() == '{"id": 1, "contact": true, "spans": [[6, 20, "payment"]]}\n'
