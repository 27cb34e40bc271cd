"""Detectors: a regex finds candidates, a validator (check digits, context, format) keeps the real ones.

Every detector reads the normalised form of the text (``normalise.py``: NFKC, format characters dropped, number
words as digits…), where any separator may stand between digit groups (spaces, no-break spaces, hyphens, dots,
slashes, underscores, commas — up to three of them), and returns spans in that form; ``Normalised.origin`` maps
them back to the original. All patterns are linear: no nested unbounded quantifiers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.core.levels import Sensitivity
from bot.core.sensitivity import checks, vocab
from bot.core.sensitivity.normalise import Normalised, normalise

R, C = Sensitivity.RESTRICTED, Sensitivity.CONFIDENTIAL


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int


LEVELS: dict[str, Sensitivity] = {
    "sin": R, "health_card": R, "payment_card": R, "health_info": R,
    "bank_account": C, "email": C, "phone": C, "postal_code": C, "date_of_birth": C,
}

_SEPS = r" \-./\\_,"
_S = rf"[{_SEPS}]{{0,3}}"  # between digit groups: nothing, or up to three separators
_BEFORE = r"(?<!\d)(?<!\d[\-./\\_,])"  # not the tail of a longer number
_AFTER = r"(?!\d)(?![\-./\\_,]\d)"
_SIN = re.compile(rf"{_BEFORE}(\d{{3}}){_S}(\d{{3}}){_S}(\d{{3}}){_AFTER}")
_TEN = re.compile(rf"{_BEFORE}(\d{{4}}){_S}(\d{{3}}){_S}(\d{{3}}){_AFTER}(?:[{_SEPS}]{{0,3}}([A-Z]{{2}})(?![A-Za-z]))?")
_RAMQ = re.compile(rf"(?<![A-Za-z])([A-Z]{{4}}){_S}(\d{{4}}){_S}(\d{{4}})(?!\d)")
_CARD = re.compile(rf"{_BEFORE}\d(?:{_S}\d){{12,18}}{_AFTER}")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
_EMAIL_WORDY = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}(?:\s{0,3}(\[at\]|\(at\)|\{at\}|<at>)\s{0,3}|\s{1,3}(at|arobase)\s{1,3})"
    r"[a-z0-9-]{1,63}(?:(?:\s{0,3}(?:\.|\[dot\]|\(dot\)|\{dot\}|<dot>)\s{0,3}|\s{1,3}(?:dot|point)\s{1,3})"
    r"[a-z0-9-]{1,63}){1,4}(?![\w-])")
_BEFORE_AT = frozenset("""look looking looked meet meeting met be is are was were am arrive arrived arriving stay staying
work works working worked me us him her them it you here there see seen home lunch noon stop start starts end ends
open opens held located based live lives lived sit sat stand aim aimed laugh laughed good bad""".split())
_TLDS = frozenset("com ca org net gov edu io fr qc on bc ab gc info biz co us uk me app dev".split())
_PHONE = re.compile(
    r"(?<![\d\w])(?:\+?1[ .\-/_]{0,3})?(?:\(\s{0,2}[2-9]\d{2}\s{0,2}\)[ .\-/_,]{0,3}|[2-9]\d{2}[ .\-/_,]{1,3})"
    r"[2-9]\d{2}[ .\-/_,]{1,3}\d{4}(?!\d)")
_PHONE_BARE = re.compile(r"(?<![\d\w+])(?:\+?1)?[2-9]\d{2}[2-9]\d{6}(?!\d)")
_PHONE_CONTEXT = re.compile(r"\b(?:phone|tel|telephone|cell|cellulaire|mobile|call|appeler|appelez|joindre|reach|"
                            r"text|sms|fax|whatsapp)\b")
_POSTAL = re.compile(r"(?<![A-Za-z0-9])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \-./_]{0,3}\d[ABCEGHJ-NPRSTV-Z]\d"
                     r"(?![A-Za-z0-9])", re.IGNORECASE)
_DATE = re.compile(
    r"\b(?:\d{4}[-/. ]\d{1,2}[-/. ]\d{1,2}|\d{1,2}[/.\- ]\d{1,2}[/.\- ]\d{2,4}|"
    r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|fevr|avr|mai|juin|juil|aout|sept|oct|nov|dec)[a-z]*\.? "
    r"\d{1,2},? \d{4}|\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janvier|fevrier|mars|avril|mai|"
    r"juin|juillet|aout|septembre|octobre|novembre|decembre)[a-z]* \d{4})\b", re.IGNORECASE)
_DOB_CONTEXT = re.compile(r"\b(?:born|dob|d\.o\.b|date of birth|birth ?date|birthday|ne le|nee le|ne\(e\) le|"
                          r"date de naissance|naissance)\b", re.IGNORECASE)
_SIN_CONTEXT = re.compile(r"\b(?:sin|nas|social insurance|assurance sociale|insurance number)\b", re.IGNORECASE)
_HEALTH_CONTEXT = re.compile(r"\b(?:health|personal health number|ohip|phn|ramq|carte sante|assurance maladie|health card|hcn|msp|"
                             r"care ?card|numero d'assurance maladie)\b", re.IGNORECASE)
_BANK_CONTEXT = re.compile(r"\b(?:account|acct|compte|transit|institution|bank|banque|succursale|routing)\b",
                           re.IGNORECASE)
_TRANSIT = re.compile(r"(?<!\d)\d{5}[ \-./_]{1,3}\d{3}(?!\d)")
_ACCOUNT = re.compile(r"(?<![\d\-])\d{7,12}(?![\d\-])")
_ACCOUNT_GROUPED = re.compile(r"(?<![\d\-.])\d{3,6}(?:[ \-.]\d{3,6}){1,3}(?![\d\-]|\.\d)")
_AMOUNT = re.compile(r"\d{3},\d{3},\d{3}")
_WORDS = re.compile(r"[a-z][a-z0-9'\-]*")
_NOT_PHONE = re.compile(r"\b(?:meeting id|webinar id|conference id|zoom|passcode|order|invoice|ticket)\b[^\d]{0,12}$")

Detector = Callable[[Normalised], Iterator[Span]]


def fold(text: str) -> str:
    """The folded (lower case, accents and invisible characters dropped) form detectors compare words in."""
    return normalise(text).folded


def _near(pattern: re.Pattern[str], text: str, start: int, end: int, window: int = 48, after: int = 16) -> bool:
    return bool(pattern.search(text[max(0, start - window): end + after]))


def find_sin(n: Normalised) -> Iterator[Span]:
    for m in _SIN.finditer(n.text):
        number = checks.digits_of(m.group(0))
        # written as a SIN is written (groups, invisible separators, spelled-out digits); 130,692,544 is an amount
        formatted = n.raw(m.start(), m.end()) != number and not _AMOUNT.fullmatch(m.group(0))
        if checks.sin_ok(number) and (formatted or _near(_SIN_CONTEXT, n.folded, m.start(), m.end())):
            yield Span("sin", m.start(), m.end())


def find_health_card(n: Normalised) -> Iterator[Span]:
    for m in _TEN.finditer(n.text):
        number = m.group(1) + m.group(2) + m.group(3)
        valid = checks.ontario_ok(number) or checks.bc_phn_ok(number)
        # 10-digit serials pass a mod-10 check one time in ten: a version code or health context is required
        if valid and (m.group(4) or _near(_HEALTH_CONTEXT, n.folded, m.start(), m.end())):
            yield Span("health_card", m.start(), m.end())
    for m in _RAMQ.finditer(n.text):
        if checks.ramq_ok(m.group(1), m.group(2) + m.group(3)):
            yield Span("health_card", m.start(), m.end())


def find_card(n: Normalised) -> Iterator[Span]:
    for m in _CARD.finditer(n.text):
        if checks.card_ok(checks.digits_of(m.group(0))):
            yield Span("payment_card", m.start(), m.end())


def find_bank(n: Normalised) -> Iterator[Span]:
    for pattern in (_TRANSIT, _ACCOUNT, _ACCOUNT_GROUPED):
        for m in pattern.finditer(n.text):
            if pattern is _ACCOUNT_GROUPED and not 7 <= len(checks.digits_of(m.group(0))) <= 12:
                continue
            if _near(_BANK_CONTEXT, n.folded, m.start(), m.end(), window=32):
                yield Span("bank_account", m.start(), m.end())


def find_email(n: Normalised) -> Iterator[Span]:
    for m in _EMAIL.finditer(n.text):
        yield Span("email", m.start(), m.end())
    for m in _EMAIL_WORDY.finditer(n.folded):
        spelled_dot = re.search(r"\[dot\]|\(dot\)|\{dot\}|<dot>|\sdot\s|\spoint\s", m.group(0))
        tld = re.split(r"[^a-z0-9-]+", m.group(0))[-1]
        local = re.split(r"\s", m.group(0), maxsplit=1)[0]
        plain_words = not m.group(1) and (not spelled_dot or local in _BEFORE_AT)
        if tld in _TLDS and not plain_words:  # "look at example dot com" is ordinary English
            yield Span("email", m.start(), m.end())


def find_phone(n: Normalised) -> Iterator[Span]:
    for m in _PHONE.finditer(n.text):
        if not _NOT_PHONE.search(n.folded[max(0, m.start() - 30): m.start()]):
            yield Span("phone", m.start(), m.end())
    for m in _PHONE_BARE.finditer(n.text):  # ten digits in a row count only where a phone is spoken of
        if _near(_PHONE_CONTEXT, n.folded, m.start(), m.end(), window=32, after=0):
            yield Span("phone", m.start(), m.end())


def find_postal(n: Normalised) -> Iterator[Span]:
    for m in _POSTAL.finditer(n.text):
        yield Span("postal_code", m.start(), m.end())


def find_dob(n: Normalised) -> Iterator[Span]:
    f = n.folded
    for m in _DATE.finditer(f):
        if _DOB_CONTEXT.search(f[max(0, m.start() - 40): m.start()]) or _DOB_CONTEXT.search(f[m.end(): m.end() + 20]):
            yield Span("date_of_birth", m.start(), m.end())


def _word(token: str) -> str:
    """``diabetes's`` → ``diabetes``; French elision: ``l'insuline``, ``d'asthme`` → the word after the apostrophe."""
    return token.removesuffix("'s").strip("'-").rsplit("'", 1)[-1]


def find_health(n: Normalised) -> Iterator[Span]:
    f = n.folded
    words = [(_word(m.group(0)), m.start(), m.end()) for m in _WORDS.finditer(f)]
    strong = [(s, e) for w, s, e in words if w in vocab.STRONG]
    strong += [(m.start(), m.start() + len(p)) for p in vocab.PHRASES for m in re.finditer(re.escape(p), f)]
    context = strong or any(w in vocab.CONTEXT for w, _s, _e in words)
    weak = [(s, e) for w, s, e in words if w in vocab.WEAK] if context else []
    for start, end in sorted(set(strong + weak)):
        yield Span("health_info", start, end)


DETECTORS: tuple[Detector, ...] = (
    find_card, find_health_card, find_sin, find_bank, find_email, find_phone, find_postal, find_dob, find_health,
)
