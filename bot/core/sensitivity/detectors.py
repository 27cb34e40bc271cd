"""Detectors: a regex finds candidates, a validator (check digits, context, format) keeps the real ones."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.core.levels import Sensitivity
from bot.core.sensitivity import checks, vocab

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

_SEP = r"[ \-\u00a0]?"
_SIN = re.compile(rf"(?<![\d\-])(\d{{3}}){_SEP}(\d{{3}}){_SEP}(\d{{3}})(?![\d\-])")
_TEN = re.compile(rf"(?<![\d\-])(\d{{4}}){_SEP}(\d{{3}}){_SEP}(\d{{3}})(?:{_SEP}([A-Z]{{2}}))?(?![\d\-])")
_RAMQ = re.compile(r"(?<![A-Za-z])([A-Z]{4})[ \-]?(\d{4})[ \-]?(\d{4})(?!\d)")
_CARD = re.compile(r"(?<![\d\-])(?:\d[ \-]?){12,18}\d(?![\d\-])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
_PHONE = re.compile(r"(?<![\d\w])(?:\+?1[ .\-]?)?(?:\(\s*[2-9]\d{2}\s*\)|[2-9]\d{2})[ .\-]\s?[2-9]\d{2}[ .\-]\d{4}(?!\d)")
_POSTAL = re.compile(r"(?<![A-Za-z0-9])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \-]?\d[ABCEGHJ-NPRSTV-Z]\d(?![A-Za-z0-9])")
_DATE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|"
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
_TRANSIT = re.compile(r"(?<!\d)\d{5}[ \-]\d{3}(?!\d)")
_ACCOUNT = re.compile(r"(?<![\d\-])\d{7,12}(?![\d\-])")
_WORDS = re.compile(r"[a-z][a-z'\-]*")


def fold(text: str) -> str:
    """Lower case without accents, same length as the input (so spans map back)."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[0] if ord(ch) > 127 else ch
        out.append(base.lower() if len(base.lower()) == 1 else ch)
    return "".join(out)


def _near(pattern: re.Pattern[str], text: str, start: int, end: int, window: int = 48) -> bool:
    return bool(pattern.search(text[max(0, start - window): end + 16]))


def find_sin(text: str, _f: str) -> Iterator[Span]:
    for m in _SIN.finditer(text):
        number = checks.digits_of(m.group(0))
        formatted = m.group(0) != number
        if checks.sin_ok(number) and (formatted or _near(_SIN_CONTEXT, _f, m.start(), m.end())):
            yield Span("sin", m.start(), m.end())


def find_health_card(text: str, f: str) -> Iterator[Span]:
    for m in _TEN.finditer(text):
        number = checks.digits_of(m.group(0)[:14])
        valid = checks.ontario_ok(number) or checks.bc_phn_ok(number)
        # 10-digit serials pass a mod-10 check one time in ten: a version code or health context is required
        if valid and (m.group(4) or _near(_HEALTH_CONTEXT, f, m.start(), m.end())):
            yield Span("health_card", m.start(), m.end())
    for m in _RAMQ.finditer(text):
        if checks.ramq_ok(m.group(1), m.group(2) + m.group(3)):
            yield Span("health_card", m.start(), m.end())


def find_card(text: str, _f: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        if checks.card_ok(checks.digits_of(m.group(0))):
            yield Span("payment_card", m.start(), m.end())


def find_bank(text: str, f: str) -> Iterator[Span]:
    for pattern in (_TRANSIT, _ACCOUNT):
        for m in pattern.finditer(text):
            if _near(_BANK_CONTEXT, f, m.start(), m.end(), window=32):
                yield Span("bank_account", m.start(), m.end())


def _simple(kind: str, pattern: re.Pattern[str]) -> Callable[[str, str], Iterator[Span]]:
    def find(text: str, _f: str) -> Iterator[Span]:
        for m in pattern.finditer(text):
            yield Span(kind, m.start(), m.end())

    return find


_NOT_PHONE = re.compile(r"\b(?:meeting id|webinar id|conference id|zoom|passcode|order|invoice|ticket)\b[^\d]{0,12}$")


def find_phone(text: str, f: str) -> Iterator[Span]:
    for m in _PHONE.finditer(text):
        if not _NOT_PHONE.search(f[max(0, m.start() - 30): m.start()]):
            yield Span("phone", m.start(), m.end())


def find_dob(text: str, f: str) -> Iterator[Span]:
    for m in _DATE.finditer(f):
        if _DOB_CONTEXT.search(f[max(0, m.start() - 40): m.start()]):
            yield Span("date_of_birth", m.start(), m.end())


def find_health(_text: str, f: str) -> Iterator[Span]:
    words = [(m.group(0).removesuffix("'s").strip("'-"), m.start(), m.end()) for m in _WORDS.finditer(f)]
    strong = [(s, e) for w, s, e in words if w in vocab.STRONG]
    strong += [(m.start(), m.start() + len(p)) for p in vocab.PHRASES for m in re.finditer(re.escape(p), f)]
    context = strong or any(w in vocab.CONTEXT for w, _s, _e in words)
    weak = [(s, e) for w, s, e in words if w in vocab.WEAK] if context else []
    for start, end in sorted(set(strong + weak)):
        yield Span("health_info", start, end)


DETECTORS: tuple[Callable[[str, str], Iterator[Span]], ...] = (
    find_card, find_health_card, find_sin, find_bank, _simple("email", _EMAIL), find_phone,
    _simple("postal_code", _POSTAL), find_dob, find_health,
)
