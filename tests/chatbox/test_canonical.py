"""Canonical JSON against RFC 8785's published examples, and the chain's hash rules."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatbox.canonical import GENESIS_PREV, body_commitment, canonical, event_hash


def test_rfc8785_section_3_2_2_example() -> None:
    # given the input of RFC 8785 §3.2.2
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    # when / then it serialises exactly as the RFC prints it
    assert (
        canonical(value)
        == (
            '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
        ).encode()
    )


def test_rfc8785_section_3_2_3_property_sorting() -> None:
    # given the keys of RFC 8785 §3.2.3, sorted there by their UTF-16 code units
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    # when
    text = canonical(value).decode()
    # then the values come out in the RFC's order
    order = [
        text.index(name)
        for name in (
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh",
        )
    ]
    assert order == sorted(order)


@pytest.mark.parametrize(
    ("ieee_hex", "expected"),
    [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ],
)
def test_rfc8785_appendix_b_numbers(ieee_hex: str, expected: str) -> None:
    # given an IEEE 754 double from RFC 8785 Appendix B
    (number,) = struct.unpack(">d", bytes.fromhex(ieee_hex))
    # when / then
    assert canonical(number) == expected.encode()


@pytest.mark.parametrize("ieee_hex", ["7fffffffffffffff", "7ff0000000000000"])
def test_rfc8785_refuses_nan_and_infinity(ieee_hex: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(ieee_hex))
    with pytest.raises(ValueError):
        canonical(number)


def test_event_hash_is_sha256_of_zero_byte_and_canonical_event_without_hash() -> None:
    # given an event that already carries a (stale) hash
    event = {"v": 1, "seq": 1, "prev": GENESIS_PREV, "body": "hi", "salt": "00", "hash": "stale"}
    # when
    digest = event_hash(event)
    # then the hash field is left out, the text enters as null, and a 0x00 byte leads
    expected = hashlib.sha256(
        b'\x00{"body":null,"prev":"' + GENESIS_PREV.encode() + b'","salt":null,"seq":1,"v":1}'
    ).hexdigest()
    assert digest == expected
    # and the same event shown hash-only has the same hash
    assert event_hash({**event, "body": None, "salt": None}) == digest


def test_body_commitment_is_sha256_of_salt_then_utf8_body() -> None:
    salt = bytes(range(32))
    assert (
        body_commitment(salt=salt, body="héllo")
        == hashlib.sha256(salt + "héllo".encode()).hexdigest()
    )


@given(
    st.dictionaries(
        st.text(),
        st.one_of(st.integers(-(2**53) + 1, 2**53 - 1), st.text(), st.booleans(), st.none()),
    )
)
def test_canonical_form_does_not_depend_on_key_order(value: dict) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical(reordered) == canonical(value)
