"""Currencies of ISO 4217 and their minor units: amounts are integers, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The active codes of ISO 4217 (funds, metals and test codes left out).
CURRENCIES = _codes(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """
)
_NO_MINOR_UNIT = _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF")
_THREE_DECIMALS = _codes("BHD IQD JOD KWD LYD OMR TND")


def minor_unit_digits(currency: str) -> int:
    if currency in _NO_MINOR_UNIT:
        return 0
    if currency in _THREE_DECIMALS:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """``4500, "EUR"`` → ``"45.00 EUR"``."""
    digits = minor_unit_digits(currency)
    major = Decimal(amount).scaleb(-digits)
    return f"{major:,.{digits}f} {currency}"


def parse_major(text: str, currency: str) -> int | None:
    """``"45.5", "EUR"`` → ``4550``; ``None`` when the text is no amount of that currency."""
    digits = minor_unit_digits(currency)
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        return None
    return int(minor)
