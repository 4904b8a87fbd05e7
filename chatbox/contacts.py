"""Contact details and off-platform payment details in chat text.

``scan(text)`` finds phone numbers, e-mail addresses, links, messenger handles and payment
details; ``mask(text, spans, kinds=…)`` hides the kinds a viewer may not see. The module is
pure (no Django, no I/O), so the chat service, the ``scan_contacts`` command and the tests call
the same code.

The pipeline:

1. **Normalise, keeping an index map.** Each character is NFKC-normalised (full-width digits
   and letters become ASCII), any Unicode decimal digit becomes its ASCII digit, and
   zero-width characters are dropped. The result is a *view*: a string plus, for each of its
   characters, the span of the original text it came from.
2. **Rewrite digits** into a second view on top of the first: spelled-out digits in a run
   ("five five five, oh one…") become digits, and letters standing in for digits inside a digit
   word ("5O5", "l23") become the digits they imitate.
3. **Detectors**, one small function per kind, each over the view that suits it: e-mail
   addresses (also "name at gmail dot com"), links (also "site dot com"; a link to a messenger
   or social profile is a handle, to a payment page a payment detail), messenger and payment
   handles after a platform's name, IBANs (mod-97), bank details after their context words,
   crypto addresses, and digit runs judged as phone numbers (``phonenumbers`` at
   ``Leniency.POSSIBLE`` plus context words and grouping) or card numbers (Luhn).
4. **Merge**: a phone number, e-mail or handle right after a payment platform's name is a
   payment detail; overlapping spans merge into one with the most specific kind
   (payment > email > url > handle > phone); spans map back to the original text.

Speed and measured quality are in ``docs/contacts.md``; ``python -m chatbox.contacts
--measure CORPUS.jsonl`` recomputes them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

from phonenumbers import Leniency, PhoneNumberMatcher


class Kind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    URL = "url"
    HANDLE = "handle"
    PAYMENT = "payment"


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # index into the original text (Python str indices)
    end: int  # exclusive
    kind: Kind


PLACEHOLDERS: dict[Kind, str] = {
    Kind.PHONE: "[phone hidden]",
    Kind.EMAIL: "[email hidden]",
    Kind.URL: "[link hidden]",
    Kind.HANDLE: "[handle hidden]",
    Kind.PAYMENT: "[payment details hidden]",
}

# On overlap the more specific kind wins.
_PRIORITY: dict[Kind, int] = {
    Kind.PHONE: 1,
    Kind.HANDLE: 2,
    Kind.URL: 3,
    Kind.EMAIL: 4,
    Kind.PAYMENT: 5,
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- Word lists -----------------------------------------------------------------------------

# Characters people slip between digits or letters to get past filters.
INVISIBLE_CHARS = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")

SPELLED_DIGITS: dict[str, str] = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "nought": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "niner": "9",
}
DIGIT_REPEATS: dict[str, int] = {"double": 2, "triple": 3}

# Letters that stand in for digits inside a digit word ("5O5", "l23", "2I2").
LOOKALIKE_DIGITS = str.maketrans("OoIl", "0011")

# A digit run right after one of these (within a few words) names a thing, not a phone.
REFERENCE_CONTEXT = _words(
    """
    order invoice inv tracking track ticket ref reference isbn version ver sku po id
    case transaction txn receipt confirmation booking serial model part item job contract
    code waybill awb upc ean gtin asin timestamp epoch build release firmware patch issue
    commit batch lot shipment parcel claim policy license licence pin otp zip postcode
    postal tax vat ein page pages year imei iccid meid mac
    """
)
# …or an amount of money.
AMOUNT_CONTEXT = _words(
    """
    price budget total cost amount fee fees salary rate usd eur euro euros gbp inr ngn vnd
    idr jpy chf cad aud pkr uzs rub brl mxn dollars dollar bucks rupees
    """
)
# …or bank or card details: not a phone, but a card number there is still a card number.
BANK_CARD_CONTEXT = _words("account acct iban routing swift sort card cvv")
# Phrases in which a context word means something else ("in case I'm offline").
IDIOMS = frozenset({("in", "case"), ("just", "case")})
# A digit run after one of these is a strong phone signal even when short-ish.
PHONE_CONTEXT = _words(
    """
    call calls text phone phones whatsapp whatsap watsapp whats wa number num nr reach
    ring mobile mob cell cellphone tel telephone sms viber signal telegram contact dial ph
    landline line imessage facetime digits
    numero número numéro nummer rufnummer telefone teléfono telefono telefon téléphone
    celular cel móvil movil handy portable zap
    """
)
# "number" means a phone number unless a negative word names what kind of number it is.
WEAK_PHONE_CONTEXT = _words("number num nr no")
# Words that say nothing either way; context scanning skips them.
FILLER_WORDS = _words(
    """
    is are was my me our your his her their it its the a an at on to in via by of for
    here there i m s im please pls plz also just and or new old
    """
)
CURRENCY_SYMBOLS = frozenset("$€£¥₹₦₩₽₱₺")

# Platforms whose name introduces a handle. Ambiguous names are also ordinary words
# ("signal", "line", "snap"): they need an "@handle" or an explicit "id:"-style marker.
MESSENGERS = _words(
    """
    whatsapp whatsap watsapp telegram telegramm skype wechat weixin discord instagram insta
    snapchat kik viber facebook messenger linkedin tiktok twitter threema icq imessage
    hangouts wickr qq zalo kakaotalk kakao
    """
)
AMBIGUOUS_MESSENGERS = _words("signal line ig tg wa fb x snap threads teams session element")
MAIL_PROVIDERS = _words(
    "gmail googlemail hotmail yahoo outlook icloud protonmail proton yandex aol gmx zoho qq"
)
PAYMENT_PLATFORMS = _words(
    """
    paypal venmo cashapp zelle revolut payoneer skrill alipay gpay paytm phonepe upi
    neteller moneygram remitly cashtag westernunion applepay googlepay
    """
)
AMBIGUOUS_PAYMENT_PLATFORMS = _words("wise")
# Names people also write as two words ("whats app", "cash app").
SPACED_NAMES: dict[str, str] = {
    "whatsapp": r"whats\s?app",
    "cashapp": r"cash\s?app",
    "paypal": r"pay\s?pal",
    "westernunion": r"western\s?union",
    "applepay": r"apple\s?pay",
    "googlepay": r"google\s?pay",
    "gpay": r"g\s?pay",
}
# Words between a platform's name and the handle ("my skype id is foo", "venmo me @x").
HANDLE_FILLER_WORDS = _words(
    """
    is are my me at as on to via id handle username user name account acc acct nick
    nickname tag cashtag email e-mail mail address number no here profile page channel
    it's its the send pay transfer
    """
)
# Of those, the ones that announce a handle; a plain word as handle needs one of them.
HANDLE_MARKERS = _words("is are id handle username user name nick nickname tag cashtag")

# Common words that are not handles, not e-mail local parts and not domain labels
# ("my skype is broken", "look at home dot com").
COMMON_WORDS = _words(
    """
    a about above after again against all almost already also always am an and another any
    anyone anything anyway are around as at available away back bad banned be because been
    before being best better between big blocked both broken busy but by can cannot cant
    cheaper cheapest chat check choice clear closed come coming could currently dead did
    different disabled do does doing done down during each easier easy either else enough
    even ever every everyone everything fast faster few fine first for free from full fun
    further gone good great had hard has have having he her here hers him his home how i
    if in instead into is isnt it its itself just kind last later less like little live
    long lost main many may maybe me mine more most much must my myself need needed never
    new next nice no none nor not nothing now of off offline ok okay old on once online only
    open or other our ours out over own perfect please pls possible preferred private
    probably public quick quicker quiet rather ready real really restricted right same
    see she should simple since slow so some someone something soon sorry still such sure
    than thanks that the their them then there these they this those though through to
    today together tomorrow tonight too under until up us used useful very was we weird
    well were what when where which while who why will with without working works would yes
    yet you your yours
    account app group channel server bot page profile link number name username handle
    business team call video voice notifications story stories reels feed ads post posts
    icon logo button api integration templates template chat message messages email
    website site portfolio office studio work shop store blog contact look meet good python
    sql
    """
)

# Link hosts (and their subdomains): a link to a payment host is a payment detail, a link to
# a messenger or social profile is a handle; other links are the web.
PAYMENT_HOSTS = _words(
    """
    paypal.me paypal.com venmo.com cash.app cash.me revolut.me revolut.com wise.com
    buymeacoffee.com ko-fi.com patreon.com payoneer.com skrill.com gofundme.com
    """
)
MESSENGER_HOSTS = _words(
    """
    wa.me wa.link whatsapp.com t.me telegram.me telegram.dog discord.gg discord.com
    discordapp.com m.me messenger.com signal.me signal.group line.me ig.me instagram.com
    facebook.com fb.com fb.me skype.com snapchat.com wechat.com weixin.qq.com viber.com
    kik.me zalo.me kakao.com linkedin.com twitter.com x.com tiktok.com threads.net
    """
)
# Link schemes that open a phone, a mail program or a messenger rather than a web page.
LINK_SCHEME_KINDS: dict[str, Kind] = {
    "tel": Kind.PHONE,
    "sms": Kind.PHONE,
    "callto": Kind.PHONE,
    "mailto": Kind.EMAIL,
    "viber": Kind.HANDLE,
    "whatsapp": Kind.HANDLE,
    "tg": Kind.HANDLE,
    "skype": Kind.HANDLE,
    "weixin": Kind.HANDLE,
    "line": Kind.HANDLE,
    "signal": Kind.HANDLE,
}
# Top-level domains a bare "name.tld" link may end with. File extensions that are also
# TLDs (.ai, .md, .py, .sh, .zip, .mov, …) are left out: "logo.ai" is a file in this chat.
TLDS = _words(
    """
    com net org io co me info biz app dev xyz tech site online store shop blog design studio
    agency pro club live tv gg ly fm page link website email cloud digital media news
    uk de fr es it nl ca au in eu ru ch se dk fi pl pt br mx ar cl pe jp cn kr tw hk sg my
    id ph vn th nz za ng ke eg ae sa tr il ir pk bd ua cz sk hu ro bg gr ie be at lt lv ee
    us edu gov mil int cc
    """
)
# File name endings: "icon@2x.png" is an image, not an address.
FILE_EXTENSIONS = _words(
    """
    png jpg jpeg gif svg webp pdf psd ai eps tif tiff heic mp4 mov avi mkv mp3 wav zip rar
    doc docx xls xlsx ppt pptx txt csv json js ts py html css md fig sketch xd
    """
)
# Of those, the ones that are also English words ("did it.It works"): a bare domain ending
# in one needs a path (also "wa.me" or "t.me" alone names nobody).
WORD_TLDS = _words("me it in no us is be by my am do go to so at as on id")
# Names of software that look like domains.
TECH_NAMES = _words("asp.net ado.net vb.net socket.io")

# Words that make a nearby base58 string a crypto address even without a valid checksum.
CRYPTO_CONTEXT = _words(
    "btc bitcoin wallet crypto usdt usdc trc20 erc20 tron eth ethereum ltc litecoin address"
)

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# Regions tried for a national number written with its trunk prefix ("07700 900123").
NATIONAL_REGIONS = ("GB", "DE", "FR", "IN", "AU", "NG", "JP", "IT", "ES", "NL")


# --- Views: rewritten copies of the text that remember where each character came from ------


@dataclass(frozen=True, slots=True)
class _View:
    """A rewritten copy of a source text: ``text[i]`` came from ``source[starts[i]:ends[i]]``."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The source span a non-empty ``text[start:end]`` came from."""
        return self.starts[start], self.ends[end - 1]


def _identity_view(text: str) -> _View:
    return _View(text, range(len(text)), range(1, len(text) + 1))


class _ViewBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def copy(self, source: str, start: int, end: int) -> None:
        self.parts.append(source[start:end])
        self.starts.extend(range(start, end))
        self.ends.extend(range(start + 1, end + 1))

    def put(self, replacement: str, start: int, end: int) -> None:
        """Emit ``replacement`` as having come from ``source[start:end]``."""
        self.parts.append(replacement)
        self.starts.extend([start] * len(replacement))
        self.ends.extend([end] * len(replacement))

    def put_each(self, replacement: str, start: int) -> None:
        """Emit ``replacement`` character for character in place of ``source[start:…]``."""
        self.parts.append(replacement)
        self.starts.extend(range(start, start + len(replacement)))
        self.ends.extend(range(start + 1, start + len(replacement) + 1))

    def build(self) -> _View:
        return _View("".join(self.parts), self.starts, self.ends)


def _normalise(text: str) -> _View:
    """NFKC per character, Unicode digits to ASCII, zero-width characters dropped."""
    if text.isascii():
        return _identity_view(text)
    builder = _ViewBuilder()
    for index, char in enumerate(text):
        if char.isascii():
            builder.copy(text, index, index + 1)
        elif char in INVISIBLE_CHARS:
            continue
        elif unicodedata.decimal(char, None) is not None:
            builder.put(str(unicodedata.decimal(char)), index, index + 1)
        else:
            builder.put(unicodedata.normalize("NFKC", char), index, index + 1)
    return builder.build()


_SPELLED_WORD = r"(?:zero|oh|o|nought|one|two|three|four|five|six|seven|eight|nine|niner)"
_SPELLED_TOKEN = rf"(?:(?:double|triple)\s+)?(?:{_SPELLED_WORD}|[0-9])\b|[0-9]+"
_SPELLED_SEP = r"(?:\s{0,3}[,.\-\u2013\u2014_/]\s{0,3}|\s+(?:dash|hyphen)\s+|\s{1,3})"
# A run of digits in words, possibly mixed with digits: needs two spelled words at least.
_SPELLED_RUN = re.compile(
    rf"(?<![\w])(?:plus\s+)?(?:{_SPELLED_TOKEN})(?:{_SPELLED_SEP}(?:{_SPELLED_TOKEN})){{1,40}}"
    rf"(?![\w])",
    re.IGNORECASE,
)
_SPOKEN_SEPARATOR = re.compile(r"\b(?:dash|hyphen)\b", re.IGNORECASE)
_SPELLED_PIECE = re.compile(
    rf"(?P<plus>plus)|(?:(?P<repeat>double|triple)\s+)?(?P<word>{_SPELLED_WORD})\b|(?P<digits>[0-9]+)",
    re.IGNORECASE,
)
_LOOKALIKE_WORD = r"(?<![A-Za-z0-9])(?=[OoIl]*[0-9])(?=[0-9]*[OoIl])[0-9OoIl]{3,}(?![A-Za-z0-9])"
_DIGIT_REWRITE = re.compile(rf"(?P<spelled>(?i:{_SPELLED_RUN.pattern}))|{_LOOKALIKE_WORD}")


def _digit_view(view: _View) -> _View:
    """Spelled-out digits and lookalike letters inside digit words, rewritten as digits."""
    text = view.text
    matches = [m for m in _DIGIT_REWRITE.finditer(text) if _is_digit_rewrite(m)]
    if not matches:
        return _identity_view(text)
    builder = _ViewBuilder()
    position = 0
    for match in matches:
        builder.copy(text, position, match.start())
        if match.group("spelled"):
            _put_spelled_run(builder, text, match.start(), match.end())
        else:
            builder.put_each(match.group().translate(LOOKALIKE_DIGITS), match.start())
        position = match.end()
    builder.copy(text, position, len(text))
    return builder.build()


def _is_digit_rewrite(match: re.Match[str]) -> bool:
    """Lookalike tokens always; a spelled run when it has two spelled digits or spoken dashes."""
    if not match.group("spelled"):
        return True
    words = sum(1 for piece in _SPELLED_PIECE.finditer(match.group()) if piece.group("word"))
    return words >= 2 or _SPOKEN_SEPARATOR.search(match.group()) is not None


def _put_spelled_run(builder: _ViewBuilder, text: str, start: int, end: int) -> None:
    """Each spelled digit becomes its digit, and the separators a single space."""
    previous_end: int | None = None
    for piece in _SPELLED_PIECE.finditer(text, start, end):
        if piece.group("plus"):
            builder.put("+", piece.start(), piece.end())
            continue
        if previous_end is not None:
            builder.put(" ", previous_end, piece.start())
        previous_end = piece.end()
        if piece.group("digits"):
            builder.copy(text, piece.start(), piece.end())
            continue
        digit = SPELLED_DIGITS[piece.group("word").lower()]
        repeat = DIGIT_REPEATS.get((piece.group("repeat") or "").lower(), 1)
        builder.put(digit * repeat, piece.start(), piece.end())


# --- Detector output --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Found:
    """A detection in the normalised view's coordinates."""

    start: int
    end: int
    kind: Kind


def _iter_accepted(
    pattern: re.Pattern[str], text: str, accept: Callable[[re.Match[str]], bool]
) -> Iterator[re.Match[str]]:
    """Like ``finditer``, but a rejected match does not hide a good one starting inside it."""
    position = 0
    while position <= len(text):
        match = pattern.search(text, position)
        if match is None:
            return
        if accept(match):
            yield match
            position = max(match.end(), match.start() + 1)
        else:
            position = match.start() + 1


def _trim_trailing(text: str, start: int, end: int, chars: str = ".,;:!?)]}'\"-") -> int:
    while end > start and text[end - 1] in chars:
        end -= 1
    return end


# --- E-mail addresses -------------------------------------------------------------------------

_OPEN = r"[\[\(\{<]"
_CLOSE = r"[\]\)\}>]"
_AT = (
    rf"(?P<at>\s{{0,3}}@\s{{0,3}}|\s{{0,3}}{_OPEN}\s?(?:at|@|arobase)\s?{_CLOSE}\s{{0,3}}"
    rf"|\s{{1,3}}(?:at|arobase)\s{{1,3}})"
)
_DOT = rf"(?:\.|\s\.\s|\s{{0,3}}{_OPEN}\s?(?:dot|\.)\s?{_CLOSE}\s{{0,3}}|\s{{1,3}}dot\s{{1,3}})"
# In an e-mail address written out in French, "point" is a dot too.
_EMAIL_DOT = rf"(?:{_DOT}|\s{{1,3}}point\s{{1,3}})"
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_LOCAL = r"[a-z0-9](?:[a-z0-9_%+\-]|(?:\.|\s\.\s|\s{1,3}dot\s{1,3})(?=[a-z0-9])){0,63}"
_PROVIDER = "|".join(sorted(MAIL_PROVIDERS, key=len, reverse=True))
_EMAIL = re.compile(
    rf"(?<![\w.@+\-])(?P<local>{_LOCAL}){_AT}"
    rf"(?P<domain>{_LABEL}(?:{_EMAIL_DOT}{_LABEL}){{1,6}}|(?:{_PROVIDER})(?![\w.@]))",
    re.IGNORECASE,
)
_DOT_SPLIT = re.compile(_DOT, re.IGNORECASE)
_EMAIL_DOT_SPLIT = re.compile(_EMAIL_DOT, re.IGNORECASE)


def _emails(view: _View) -> list[_Found]:
    return [
        _Found(m.start(), m.end(), Kind.EMAIL) for m in _iter_accepted(_EMAIL, view.text, _is_email)
    ]


def _is_email(match: re.Match[str]) -> bool:
    """Plain addresses need a top-level domain; written-out ones a known one (or a provider
    alone, "name at gmail"), and a local part that is not an ordinary word ("look at x.com")."""
    raw_at = match.group("at")
    domain = match.group("domain").lower()
    labels = _EMAIL_DOT_SPLIT.split(domain)
    dots = _EMAIL_DOT_SPLIT.findall(domain)
    written_out = raw_at != "@" or any(dot != "." for dot in dots)
    if raw_at.strip() == "@" and raw_at[0].isspace() != raw_at[-1].isspace():
        return False  # "is @handle.dev" is a handle; "name @ gmail . com" is spaced out
    local_labels = _DOT_SPLIT.split(match.group("local").lower())
    # "look at x dot com" is a phrase; "pia dot work at gmail dot com" (a dotted local part) is not.
    if written_out and len(local_labels) == 1 and local_labels[0] in COMMON_WORDS:
        return False
    if len(labels) == 1:
        return written_out and labels[0] in MAIL_PROVIDERS
    tld = labels[-1]
    if not tld.isalpha() or tld in FILE_EXTENSIONS:
        return False
    return tld in TLDS or tld in WORD_TLDS or (not written_out and len(tld) >= 2)


# --- Links --------------------------------------------------------------------------------------

_SCHEME_URL = re.compile(
    rf"(?<![\w])(?:(?:https?|ftp)://|(?:{'|'.join(LINK_SCHEME_KINDS)}):)[^\s<>\"'`]+",
    re.IGNORECASE,
)
_HOST_URL = re.compile(
    rf"(?<![\w@.\-/])(?P<www>www{_DOT})?(?P<host>{_LABEL}(?:{_DOT}{_LABEL}){{1,6}})"
    rf"(?![\w\-@]|\.[a-z0-9])"
    rf"(?P<path>/[^\s<>\"'`]*|\s{{1,3}}slash\s{{1,3}}[\w\-./~#?=&%+]+)?",
    re.IGNORECASE,
)


def _links(view: _View) -> list[_Found]:
    text = view.text
    found: list[_Found] = []
    for match in _SCHEME_URL.finditer(text):
        end = _trim_trailing(text, match.start(), match.end())
        found.append(_Found(match.start(), end, _link_kind(match.group())))
    for match in _iter_accepted(_HOST_URL, text, _is_bare_link):
        end = _trim_trailing(text, match.start(), match.end())
        host = ".".join(_DOT_SPLIT.split(match.group("host").lower()))
        found.append(_Found(match.start(), end, _host_kind(host)))
    return found


def _is_bare_link(match: re.Match[str]) -> bool:
    raw_host = match.group("host")
    labels = _DOT_SPLIT.split(raw_host)
    host = ".".join(labels).lower()
    tld_raw = labels[-1]
    tld = tld_raw.lower()
    if tld not in TLDS or host in TECH_NAMES:
        return False
    has_path = match.group("path") is not None
    obfuscated = len(labels) != raw_host.count(".") + 1
    if obfuscated and labels[0].lower() in COMMON_WORDS:
        return False
    if tld in WORD_TLDS and not has_path:
        return False
    # "done.It works": a capitalised word after a full stop, not a domain.
    if not match.group("www") and not has_path and not tld_raw.islower():
        return raw_host.isupper()
    return True


def _links_other_than(handles: list[_Found], view: _View) -> list[_Found]:
    """Links, but not a value named after a messenger that looks like a domain: in "my skype:
    daniel.kraus.design" it is a Skype name."""
    named = {(handle.start, handle.end) for handle in handles if handle.kind is Kind.HANDLE}
    return [link for link in _links(view) if (link.start, link.end) not in named]


def _link_kind(url: str) -> Kind:
    scheme, _, rest = url.lower().partition(":")
    if scheme in LINK_SCHEME_KINDS:
        return LINK_SCHEME_KINDS[scheme]
    host = rest.removeprefix("//").split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    return _host_kind(host)


def _host_kind(host: str) -> Kind:
    """A payment link, a messenger or social profile link (a handle), or a web link."""
    labels = host.lower().split(".")
    parents = {".".join(labels[index:]) for index in range(len(labels) - 1)}
    if parents & PAYMENT_HOSTS:
        return Kind.PAYMENT
    if parents & MESSENGER_HOSTS:
        return Kind.HANDLE
    return Kind.URL


# --- Handles after a platform's name ------------------------------------------------------------


def _names(*word_sets: frozenset[str]) -> str:
    """A regex alternation of platform names, longest first, spaced variants included."""
    names = sorted(frozenset().union(*word_sets), key=len, reverse=True)
    return "|".join(SPACED_NAMES.get(name, re.escape(name)) for name in names)


_PLATFORMS = (
    MESSENGERS
    | AMBIGUOUS_MESSENGERS
    | MAIL_PROVIDERS
    | PAYMENT_PLATFORMS
    | AMBIGUOUS_PAYMENT_PLATFORMS
)
_HANDLE_FILLER = "|".join(sorted(HANDLE_FILLER_WORDS, key=len, reverse=True))
_HANDLE_VALUE = (
    r"@[a-z0-9_][\w.\-]*"
    r"|\$\s?[a-z][\w\-]*"
    r"|live:[\w.\-:]+"
    r"|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*"
    r"|[a-z][\w.\-]*(?:#[0-9]{4})?"
)
_PLATFORM_HANDLE = re.compile(
    rf"(?<![\w@.\-])(?P<platform>{_names(_PLATFORMS)})(?![\w])"
    rf"(?P<gap>(?:[\s:=>|,(→⇒➔➡»]|[\-\u2013\u2014]+|\b(?:{_HANDLE_FILLER})\b){{0,12}})"
    rf"(?P<value>{_HANDLE_VALUE})",
    re.IGNORECASE,
)
_MARKER = re.compile(
    rf"[:=→⇒➔➡]|\b(?:{'|'.join(sorted(HANDLE_MARKERS, key=len, reverse=True))})\b", re.I
)
_MY_BEFORE = re.compile(r"\b(?:my|me|our)\W{1,3}(?:\w{1,20}\W{1,3}){0,2}$", re.IGNORECASE)
_ON_PLATFORM = re.compile(r"\b(?:on|my|via|your|ur)\s+$", re.IGNORECASE)
_NEXT_WORD = re.compile(r"\s+[a-z]+\b")
_NOT_HANDLES = COMMON_WORDS | HANDLE_FILLER_WORDS | _PLATFORMS
_HANDLE_LIKE = re.compile(r"[a-z][\w.\-]*(?:[0-9_.\-]|#[0-9]{4})[\w.\-]*", re.IGNORECASE)
_SKYPE_LIVE_ID = re.compile(r"(?<![\w])live:[\w.\-]{3,}", re.IGNORECASE)
# "@handle", "name_with_underscore" or "name#1234" near a messenger's name, in one sentence.
_NEARBY_HANDLE = re.compile(
    r"(?<![\w@.])(?:@[a-z][\w.\-]{1,30}|[a-z][a-z0-9]*_[\w]+|[a-z][\w.]{1,30}#[0-9]{4})(?![\w@])",
    re.IGNORECASE,
)
_MESSENGER_NAME = re.compile(rf"(?<![\w@.\-])(?:{_names(MESSENGERS)})(?![\w])", re.IGNORECASE)
_CONTACT_VERB_HANDLE = re.compile(
    r"\b(?:dm|message|msg|add|follow|find|ping|contact|reach|hmu|hit\s+me\s+up|text)\b"
    r"[^.!?\n@]{0,30}?(?P<handle>(?<![\w@])@[a-z_][\w.]{1,30})",
    re.IGNORECASE,
)
# "rosa.lima on Skype": a handle-like word, then the messenger it lives on.
_HANDLE_ON_MESSENGER = re.compile(
    r"(?<![\w@.])(?P<handle>@?[a-z][\w\-]{0,30}[._][\w.\-]{0,30}[a-z0-9])\s+(?:on|at|in)\s+"
    rf"(?:{_names(MESSENGERS)})(?![\w])",
    re.IGNORECASE,
)
_NEARBY_CHARS = 40


def _platform_kind(name: str) -> tuple[Kind, bool]:
    """What a handle on this platform is, and whether the name is also an ordinary word."""
    key = re.sub(r"\s+", "", name.lower())
    if key in MAIL_PROVIDERS:
        return Kind.EMAIL, False
    if key in PAYMENT_PLATFORMS:
        return Kind.PAYMENT, False
    if key in AMBIGUOUS_PAYMENT_PLATFORMS:
        return Kind.PAYMENT, True
    return Kind.HANDLE, key in AMBIGUOUS_MESSENGERS


def _platform_handles(view: _View) -> list[_Found]:
    text = view.text
    found: list[_Found] = []
    position = 0
    while (match := _PLATFORM_HANDLE.search(text, position)) is not None:
        end = _handle_end(text, match)
        if end:
            found.append(_Found(match.start("value"), end, _platform_kind(match["platform"])[0]))
        position = end or match.start() + 1
    found += [
        _Found(m.start(), _trim_trailing(text, m.start(), m.end()), Kind.HANDLE)
        for m in _SKYPE_LIVE_ID.finditer(text)
    ]
    found += [
        _Found(m.start("handle"), _trim_trailing(text, m.start("handle"), m.end()), Kind.HANDLE)
        for m in _CONTACT_VERB_HANDLE.finditer(text)
    ]
    found += _handles_near_messenger(text)
    found += [
        _Found(m.start(), _trim_trailing(text, m.start(), m.end("handle")), Kind.HANDLE)
        for m in _HANDLE_ON_MESSENGER.finditer(text)
        if not _is_file_or_software_name(m.group("handle"))
    ]
    return found


def _is_file_or_software_name(word: str) -> bool:
    """ "logo_final.ai", "Node.js", "ASP.NET": names that look like handles but are not."""
    if word.startswith("@"):
        return False
    return word.rsplit(".", 1)[-1].lower() in FILE_EXTENSIONS or word.lower() in TECH_NAMES


def _handle_end(text: str, match: re.Match[str]) -> int:
    """Where the handle after a platform's name ends, or 0 when the value is not a handle."""
    value_start = match.start("value")
    end = _trim_trailing(text, value_start, match.end("value"), ".,;:!?-")
    value = text[value_start:end]
    kind, ambiguous = _platform_kind(match.group("platform"))
    gap = match.group("gap")
    marked = _MARKER.search(gap) is not None
    if value.startswith("@"):
        return end if len(value.lstrip("@ ")) >= 2 else 0
    if value.startswith("$"):
        return end if kind is Kind.PAYMENT and len(value.lstrip("$ ")) >= 2 else 0
    if value.lower().startswith("live:") or "@" in value:
        return end
    if value.lower() in _NOT_HANDLES or len(value) < 3:
        return 0
    if ambiguous and _ON_PLATFORM.search(text, max(0, match.start() - 8), match.start()):
        ambiguous = False  # "hit me up on snap, jenna.snaps": "snap" is the platform here
    if _HANDLE_LIKE.fullmatch(value):
        return end if marked or not ambiguous else 0
    # A plain word: only as "my skype is foo" / "skype: foo", and not the start of a phrase
    # ("For Instagram: carousel posts").
    if ambiguous or not marked:
        return 0
    mine = _MY_BEFORE.search(text, max(0, match.start() - _NEARBY_CHARS), match.start()) is not None
    if not mine and _NEXT_WORD.match(text, end):
        return 0
    return end


def _handles_near_messenger(text: str) -> list[_Found]:
    found: list[_Found] = []
    for name in _MESSENGER_NAME.finditer(text):
        low = max(0, name.start() - _NEARBY_CHARS)
        high = min(len(text), name.end() + _NEARBY_CHARS)
        for handle in _NEARBY_HANDLE.finditer(text, low, high):
            between = text[min(handle.end(), name.end()) : max(handle.start(), name.start())]
            if any(mark in between for mark in ".!?\n"):
                continue
            end = _trim_trailing(text, handle.start(), handle.end())
            if _is_file_or_software_name(text[handle.start() : end]):
                continue
            found.append(_Found(handle.start(), end, Kind.HANDLE))
    return found


# --- Payment details: IBANs, bank details, crypto addresses ---------------------------------

_IBAN = re.compile(r"(?<![a-z0-9])[a-z]{2}[0-9]{2}(?:[ \-]?[a-z0-9]){11,32}", re.IGNORECASE)
_BANK_CONTEXT = (
    r"(?i:\b(?:account\s*(?:number|no\.?|num|#)?|acct\.?(?:\s*(?:no\.?|number|#))?"
    r"|acc\.?\s*(?:no\.?|number|#)|a/c(?:\s*no\.?)?|routing(?:\s*(?:number|no\.?|#))?|aba"
    r"|sort\s*code|bsb|ifsc(?:\s*code)?|swift(?:\s*code)?|bic"
    r"|bank\s*(?:account|acct|details)(?:\s*(?:number|no\.?))?))"
)
_BANK_DETAIL = re.compile(
    _BANK_CONTEXT + r"(?i:\s*(?:is|:|-|#|=|no\.?)?\s*)"
    r"(?P<value>[0-9](?:[ \-]?[0-9]){5,19}(?![0-9])|[A-Z]{4}0[A-Z0-9]{6}\b"
    r"|[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b)"
)
_ETHEREUM = re.compile(r"(?<![\w])0x[0-9a-fA-F]{40}(?![\w])")
_BECH32 = re.compile(r"(?<![\w])(?:bc1|ltc1|tb1)[ac-hj-np-z02-9]{11,71}(?![\w])", re.IGNORECASE)
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58 = re.compile(r"(?<![\w])[13LMT][1-9A-HJ-NP-Za-km-z]{25,34}(?![\w])")
_BASE58_ANY = re.compile(r"(?<![\w])[1-9A-HJ-NP-Za-km-z]{32,44}(?![\w])")
_CRYPTO_CONTEXT_WORDS = re.compile(
    rf"\b(?:{'|'.join(sorted(CRYPTO_CONTEXT, key=len, reverse=True))})\b", re.IGNORECASE
)


def _ibans(view: _View) -> list[_Found]:
    found: list[_Found] = []
    for match in _IBAN.finditer(view.text):
        end = _iban_end(view.text, match)
        if end:
            found.append(_Found(match.start(), end, Kind.PAYMENT))
    return found


def _iban_end(text: str, match: re.Match[str]) -> int:
    """Where a valid IBAN starting at the match ends (its country's length), or 0."""
    length = IBAN_LENGTHS.get(match.group()[:2].upper())
    if length is None:
        return 0
    compact: list[str] = []
    position = match.start()
    while position < match.end() and len(compact) < length:
        if text[position].isalnum():
            compact.append(text[position].upper())
        position += 1
    if len(compact) < length or (position < len(text) and text[position].isalnum()):
        return 0
    iban = "".join(compact)
    rearranged = iban[4:] + iban[:4]
    return position if int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1 else 0


def _bank_details(view: _View) -> list[_Found]:
    return [
        _Found(m.start("value"), m.end("value"), Kind.PAYMENT)
        for m in _BANK_DETAIL.finditer(view.text)
    ]


def _crypto_addresses(view: _View) -> list[_Found]:
    text = view.text
    found = [_Found(m.start(), m.end(), Kind.PAYMENT) for m in _ETHEREUM.finditer(text)]
    found += [_Found(m.start(), m.end(), Kind.PAYMENT) for m in _BECH32.finditer(text)]
    found += [
        _Found(m.start(), m.end(), Kind.PAYMENT)
        for m in _BASE58.finditer(text)
        if _base58check(m.group()) or _crypto_context_near(text, m.start())
    ]
    found += [
        _Found(m.start(), m.end(), Kind.PAYMENT)
        for m in _BASE58_ANY.finditer(text)
        if _crypto_context_near(text, m.start()) and any(c.isdigit() for c in m.group())
    ]
    return found


def _base58check(address: str) -> bool:
    number = 0
    for char in address:
        number = number * 58 + _BASE58_ALPHABET.index(char)
    leading = len(address) - len(address.lstrip("1"))
    raw = b"\0" * leading + number.to_bytes((number.bit_length() + 7) // 8, "big")
    if len(raw) != 25:
        return False
    checksum = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4]
    return raw[-4:] == checksum


def _crypto_context_near(text: str, start: int) -> bool:
    return _CRYPTO_CONTEXT_WORDS.search(text, max(0, start - _NEARBY_CHARS), start) is not None


# --- Digit runs: phone numbers and card numbers -----------------------------------------------

_GROUP = r"[0-9]+(?![0-9a-z])(?!\s?[ap]\.?m\b)"
_RUN_SEPARATOR = r"[ \t.\-\u2013\u2014_()/]"
_DIGIT_RUN = re.compile(
    rf"(?<![\w+])(?P<plus>\+\s?)?(?:\(\s?)?{_GROUP}(?:{_RUN_SEPARATOR}{{1,3}}{_GROUP}){{0,24}}",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"(?<![0-9])(?:(?P<y1>(?:19|20)[0-9]{2})(?P<s1>[.\-/])[0-9]{1,2}(?P=s1)[0-9]{1,2}"
    r"|[0-9]{1,2}(?P<s2>[.\-/])[0-9]{1,2}(?P=s2)(?:19|20)[0-9]{2})(?![0-9])"
)
_RUN_GROUPS = re.compile(r"[0-9]+")
_CONTEXT_TOKEN = re.compile(r"[^\W\d_]+|[!?;\n]")
_CONTEXT_CHARS = 48
_CONTEXT_WORDS = 3
# In the original text of a digit run: anything but ASCII digits and ordinary separators.
_OBFUSCATION_CHAR = re.compile(r"[^0-9+()\-\u2013\u2014. /\t]")
# Amounts written with thousands separators ("1 000 000", "2.500.000").
_ROUND_AMOUNT = re.compile(r"[0-9]{1,3}(?:[ .][0-9]{3})+")


class _Context(Enum):
    PHONE = "phone"
    REFERENCE = "reference or amount"
    PAYMENT = "bank or card"


@dataclass(frozen=True, slots=True)
class _DigitRun:
    """A run of digit groups, in the digit view's coordinates."""

    start: int
    end: int
    text: str
    plus: bool

    @property
    def groups(self) -> list[str]:
        return _RUN_GROUPS.findall(self.text)

    @property
    def digits(self) -> str:
        return "".join(self.groups)


def _digit_runs(digit_view: _View) -> list[_DigitRun]:
    runs: list[_DigitRun] = []
    for match in _DIGIT_RUN.finditer(digit_view.text):
        runs += _split_at_dates(match)
    return runs


def _split_at_dates(match: re.Match[str]) -> list[_DigitRun]:
    """A run cut into the pieces that are not dates ("01.02.2026 - 15.02.2026")."""
    pieces: list[_DigitRun] = []
    start = match.start()
    plus = bool(match.group("plus"))
    text = match.string
    for date in _DATE.finditer(text, match.start(), match.end()):
        if _RUN_GROUPS.search(text, start, date.start()):
            pieces.append(_run_piece(text, start, date.start(), plus))
        start, plus = date.end(), False
    if _RUN_GROUPS.search(text, start, match.end()):
        pieces.append(_run_piece(text, start, match.end(), plus))
    return pieces


def _run_piece(text: str, start: int, end: int, plus: bool) -> _DigitRun:
    while text[start] not in "0123456789+(":
        start += 1
    while text[end - 1] not in "0123456789":
        end -= 1
    return _DigitRun(start, end, text[start:end], plus)


def _phones_and_cards(text: str, view: _View, digit_view: _View) -> list[_Found]:
    found: list[_Found] = []
    for run in _digit_runs(digit_view):
        start, end = digit_view.source_span(run.start, run.end)
        context = _digit_context(view.text, start, end)
        if context is _Context.REFERENCE:
            continue
        if _is_card(run):
            found.append(_Found(start, end, Kind.PAYMENT))
        elif context is _Context.PAYMENT:
            continue
        elif _is_phone(run, context, _looks_obfuscated(text, view, run, start, end)):
            found.append(_Found(start, end, Kind.PHONE))
    return found


def _digit_context(text: str, start: int, end: int) -> _Context | None:
    """What the words around a digit run say it is: the nearest telling word decides."""
    before = text[max(0, start - 3) : start].strip()
    if before[-1:] in CURRENCY_SYMBOLS or text[end : end + 2].strip()[:1] in CURRENCY_SYMBOLS:
        return _Context.REFERENCE
    if text[end : end + 1] == "%":
        return _Context.REFERENCE
    before_run = _CONTEXT_TOKEN.findall(text, max(0, start - _CONTEXT_CHARS), start)
    after_run = _CONTEXT_TOKEN.findall(text, end, end + _CONTEXT_CHARS)
    verdict = _nearest_verdict(_with_word_before(before_run)[::-1])
    if verdict is None:
        verdict = _nearest_verdict(_with_word_before(after_run))
    if verdict is None and before.endswith("="):
        return _Context.REFERENCE  # "MAX = 2147483647": a value in code or a query string
    return verdict


def _with_word_before(tokens: list[str]) -> list[tuple[str, str]]:
    """Each token, lower-cased, with the token before it in the text ("" for the first)."""
    lowered = [token.lower() for token in tokens]
    return [(word, lowered[index - 1] if index else "") for index, word in enumerate(lowered)]


def _nearest_verdict(words: list[tuple[str, str]]) -> _Context | None:
    """The verdict of the first telling word among the nearest few; ``words`` go away from the
    run, each with the word before it in the text."""
    seen = 0
    for word, before in words:
        if not word[0].isalpha():
            return None  # end of the sentence
        if word in FILLER_WORDS or (before, word) in IDIOMS:
            continue
        if word in WEAK_PHONE_CONTEXT:
            # "order number 123…" is an order's number; "my number 555…" is a phone.
            return _word_context(before) or _Context.PHONE
        verdict = _word_context(word)
        if verdict is not None:
            return verdict
        seen += 1
        if seen >= _CONTEXT_WORDS:
            return None
    return None


def _word_context(word: str) -> _Context | None:
    singular = word.removesuffix("s")
    if word in REFERENCE_CONTEXT or singular in REFERENCE_CONTEXT or word in AMOUNT_CONTEXT:
        return _Context.REFERENCE
    if word in BANK_CARD_CONTEXT or singular in BANK_CARD_CONTEXT:
        return _Context.PAYMENT
    if word in PHONE_CONTEXT:
        return _Context.PHONE
    return None


def _looks_obfuscated(text: str, view: _View, run: _DigitRun, start: int, end: int) -> bool:
    """Spelled digits, lookalike letters, invisible characters, odd digits, "_" or 5 5 5."""
    source_start, source_end = view.source_span(start, end)
    if _OBFUSCATION_CHAR.search(text, source_start, source_end):
        return True
    groups = run.groups
    return len(groups) >= 5 and all(len(group) == 1 for group in groups)


def _is_phone(run: _DigitRun, context: _Context | None, obfuscated: bool) -> bool:
    digits = run.digits
    international = run.plus or digits.startswith("00")
    if international and digits.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15:
        return False
    if context is _Context.PHONE or obfuscated:
        return not _is_round_amount(run)
    if len(digits) < 10 or not _phone_like_grouping(run, international):
        return False
    return _possible_phone(digits, international=international)


def _is_round_amount(run: _DigitRun) -> bool:
    return bool(_ROUND_AMOUNT.fullmatch(run.text)) and run.digits.endswith("00")


def _phone_like_grouping(run: _DigitRun, international: bool) -> bool:
    """Grouped as people write phone numbers, not as a list of numbers ("120 240 240 80")."""
    groups = run.groups
    if international or len(groups) == 1:
        return True
    if run.digits.startswith("0") and len(groups) == 5 and all(len(g) == 2 for g in groups):
        return True  # 06 12 34 56 78
    if not 2 <= len(groups) <= 5:
        return False
    middle_ok = all(2 <= len(group) <= 5 for group in groups[1:-1])
    return 1 <= len(groups[0]) <= 5 and middle_ok and 3 <= len(groups[-1]) <= 6


def _possible_phone(digits: str, *, international: bool) -> bool:
    """``phonenumbers`` at Leniency.POSSIBLE: as +CC, as a US number, or as a national one."""
    if international:
        return _matcher_accepts("+" + digits, "US")
    if digits.startswith("0"):
        return any(_matcher_accepts(digits, region) for region in NATIONAL_REGIONS)
    return _matcher_accepts(digits, "US")


def _matcher_accepts(candidate: str, region: str) -> bool:
    return any(
        match.start == 0 and match.end == len(candidate)
        for match in PhoneNumberMatcher(candidate, region, leniency=Leniency.POSSIBLE)
    )


def _is_card(run: _DigitRun) -> bool:
    digits = run.digits
    if run.plus or not 13 <= len(digits) <= 19 or digits[0] not in "23456":
        return False
    return _luhn(digits)


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# --- A payment platform's name makes the detail after it a payment detail -------------------

_PAYMENT_NAME = re.compile(
    rf"(?<![\w@.\-])(?:{_names(PAYMENT_PLATFORMS, AMBIGUOUS_PAYMENT_PLATFORMS)})(?![\w])",
    re.IGNORECASE,
)
_PAYMENT_GAP = re.compile(
    rf"(?:[\s:=>|,→⇒➔➡»]|[\-\u2013\u2014]+|\b(?:{_HANDLE_FILLER}|via|through|with)\b){{0,12}}",
    re.IGNORECASE,
)


def _as_payment(view: _View, found: list[_Found]) -> list[_Found]:
    """Phone numbers, e-mails and handles right after a payment platform's name."""
    starts = {f.start: f for f in found if f.kind in (Kind.PHONE, Kind.EMAIL, Kind.HANDLE)}
    if not starts:
        return found
    payment_details: set[_Found] = set()
    for name in _PAYMENT_NAME.finditer(view.text):
        gap = _PAYMENT_GAP.match(view.text, name.end())
        detail = starts.get(gap.end()) if gap else None
        if detail is not None:
            payment_details.add(detail)
    return [_Found(f.start, f.end, Kind.PAYMENT) if f in payment_details else f for f in found]


# --- Putting it together ------------------------------------------------------------------------


def scan(text: str) -> list[Span]:
    """All contact and off-platform payment details in text, sorted by start, non-overlapping
    (merge overlaps; on overlap keep the most specific kind, payment > email > url > handle >
    phone)."""
    view = _normalise(text)
    digit_view = _digit_view(view)
    handles = _platform_handles(view)
    found = (
        _emails(view)
        + _links_other_than(handles, view)
        + handles
        + _ibans(view)
        + _bank_details(view)
        + _crypto_addresses(view)
        + _phones_and_cards(text, view, digit_view)
    )
    found = _as_payment(view, found)
    spans = [Span(*view.source_span(f.start, f.end), f.kind) for f in found if f.end > f.start]
    return _merge(spans)


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = max(last.kind, span.kind, key=_PRIORITY.__getitem__)
            merged[-1] = Span(last.start, max(last.end, span.end), kind)
        else:
            merged.append(span)
    return merged


def mask(text: str, spans: list[Span], *, kinds: Collection[Kind]) -> tuple[str, list[dict]]:
    """Replace each span whose kind is in ``kinds`` with its placeholder ("[phone hidden]", …).

    Returns the masked text and the redactions, ``[{"start", "end", "kind"}]`` with start and
    end into the original text. Spans are taken in order of start; one that overlaps a span
    already masked is left out (``scan`` never returns such spans).
    """
    pieces: list[str] = []
    redactions: list[dict] = []
    position = 0
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if span.kind not in kinds or span.start < position:
            continue
        pieces.append(text[position : span.start])
        pieces.append(PLACEHOLDERS[span.kind])
        redactions.append({"start": span.start, "end": span.end, "kind": str(span.kind)})
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces), redactions


# --- Measuring against a labelled corpus: python -m chatbox.contacts --measure CORPUS --------


def _measure(corpus: str, *, rounds: int, verbose: bool) -> str:
    """Recall over contact lines, false positives over clean lines, and time per message."""
    import json
    import platform
    import time
    from importlib.metadata import version

    with open(corpus, encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    contact = [r for r in records if r["contact"]]
    clean = [r for r in records if not r["contact"]]
    missed = [r["text"] for r in contact if not scan(r["text"])]
    flagged = [(r["text"], scan(r["text"])) for r in clean if scan(r["text"])]
    timings: list[float] = []
    for _ in range(rounds):
        for record in records:
            started = time.perf_counter()
            scan(record["text"])
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    by_kind = []
    for kind in Kind:
        labelled = [r for r in contact if kind in r["kinds"]]
        caught = [r for r in labelled if scan(r["text"])]
        by_kind.append(f"{kind} {len(caught)}/{len(labelled)}")
    report = [
        f"corpus: {corpus} ({len(contact)} contact lines, {len(clean)} clean lines)",
        f"recall: {1 - len(missed) / len(contact):.4f} "
        f"({len(contact) - len(missed)}/{len(contact)} contact lines caught)",
        f"false positives: {len(flagged) / len(clean):.4f} "
        f"({len(flagged)}/{len(clean)} clean lines flagged)",
        f"caught by labelled kind: {', '.join(by_kind)}",
        f"time per message ({rounds} rounds x {len(records)} lines, time.perf_counter): "
        f"p50 {timings[len(timings) // 2]:.3f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)]:.3f} ms, max {timings[-1]:.3f} ms",
        f"machine: {platform.system()} {platform.machine()}, {_cpu_name()}, "
        f"Python {platform.python_version()}, phonenumbers {version('phonenumbers')}",
    ]
    if verbose:
        report += [f"missed: {text!r}" for text in missed]
        report += [
            f"flagged: {text!r} {[(text[s.start : s.end], str(s.kind)) for s in spans]}"
            for text, spans in flagged
        ]
    return "\n".join(report)


def _cpu_name() -> str:
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m chatbox.contacts", description=__doc__)
    parser.add_argument("--measure", metavar="CORPUS.jsonl", required=True)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the corpus to time")
    parser.add_argument("--verbose", action="store_true", help="list missed and flagged lines")
    args = parser.parse_args(argv)
    print(_measure(args.measure, rounds=args.rounds, verbose=args.verbose))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
