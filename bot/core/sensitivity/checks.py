"""Check-digit validators for identifiers: Luhn (SIN, Ontario health numbers, payment cards), the British Columbia
PHN mod-11 check, and the date part of Quebec RAMQ numbers."""

from __future__ import annotations


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def sin_ok(number: str) -> bool:
    """Canadian Social Insurance Number: 9 digits, Luhn-valid, not starting with 0 or 8."""
    return len(number) == 9 and number[0] not in "08" and luhn_ok(number)


def ontario_ok(number: str) -> bool:
    """Ontario health number: 10 digits whose last is a Luhn check digit over the first nine."""
    return len(number) == 10 and number[0] != "0" and luhn_ok(number)


_BC_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3)


def bc_phn_ok(number: str) -> bool:
    """British Columbia Personal Health Number: 10 digits starting with 9, mod-11 check digit."""
    if len(number) != 10 or number[0] != "9":
        return False
    total = sum(int(d) * w % 11 for d, w in zip(number[1:9], _BC_WEIGHTS, strict=True))
    check = 11 - total % 11
    return check < 10 and check == int(number[9])


def ramq_ok(letters: str, number: str) -> bool:
    """Quebec RAMQ: 4 letters then YYMMDD (month +50 for women) and two digits."""
    if len(letters) != 4 or not letters.isalpha() or len(number) != 8:
        return False
    month, day = int(number[2:4]), int(number[4:6])
    return (1 <= month <= 12 or 51 <= month <= 62) and 1 <= day <= 31


def card_ok(number: str) -> bool:
    """Payment card: 13–19 digits, Luhn-valid, with a known issuer prefix (Visa, Mastercard, Amex, Discover)."""
    if not 13 <= len(number) <= 19 or not luhn_ok(number):
        return False
    if number[0] == "4":
        return len(number) in (13, 16, 19)
    two, four = int(number[:2]), int(number[:4])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return len(number) == 16
    if two in (34, 37):
        return len(number) == 15
    return (four == 6011 or two == 65 or 644 <= int(number[:3]) <= 649) and len(number) in (16, 19)
