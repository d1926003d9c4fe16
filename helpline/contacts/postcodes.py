"""UK postcode areas (shipped as data) and postcode/phone normalisation."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers

DATA = Path(__file__).with_name("postcode_areas.csv")
FULL_POSTCODE = re.compile(r"^([A-Z]{1,2})[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
OUTWARD = re.compile(r"^([A-Z]{1,2})[0-9][A-Z0-9]?$")


@dataclass(frozen=True)
class Area:
    """A postcode area: its letters, name and region."""

    code: str
    name: str
    region: str

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}"


@lru_cache(maxsize=1)
def areas() -> dict[str, Area]:
    """Every area by code, loaded once from the CSV shipped with the app."""
    with DATA.open(newline="", encoding="utf-8") as fh:
        return {row["code"]: Area(row["code"], row["name"], row["region"])
                for row in csv.DictReader(fh)}


def lookup(code: str | None) -> Area | None:
    """The area for typed letters (`b` → B – Birmingham), or None."""
    return areas().get((code or "").strip().upper())


def suggest(text: str | None, limit: int = 12) -> list[Area]:
    """Areas whose code starts with the typed letters, or whose name contains them."""
    text = (text or "").strip().upper()
    if not text:
        return []
    by_code = [a for c, a in sorted(areas().items()) if c.startswith(text)]
    by_name = [a for a in sorted(areas().values(), key=lambda a: a.name)
               if text.lower() in a.name.lower() and a not in by_code]
    return (by_code + by_name)[:limit]


def normalise_postcode(value: str | None) -> str:
    """Upper case with one space before the inward code: `b11aa` → `B1 1AA`."""
    compact = re.sub(r"\s+", "", (value or "").upper())
    if len(compact) > 3:
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


def is_full_postcode(value: str | None) -> bool:
    """A complete UK postcode such as SW1A 1AA."""
    return bool(FULL_POSTCODE.match(normalise_postcode(value)))


def area_of(postcode: str | None) -> str | None:
    """The area letters of a full or outward postcode (`B1 1AA` → `B`)."""
    compact = re.sub(r"\s+", "", (postcode or "").upper())
    match = FULL_POSTCODE.match(normalise_postcode(compact)) or OUTWARD.match(compact)
    return match.group(1) if match else None


def postcode_key(value: str | None) -> str | None:
    """Search key: upper case without spaces."""
    compact = re.sub(r"[^A-Z0-9]", "", (value or "").upper())
    return compact or None


def parse_phone(value: str) -> phonenumbers.PhoneNumber | None:
    """Parse a UK (default) or international number; None if it cannot be a number."""
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return None
    # "possible" (right length for the country), not "valid": Ofcom drama numbers such as
    # 07700 900123 and newly issued ranges must still be accepted.
    ok = phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE
    return number if ok else None


def format_phone(number: phonenumbers.PhoneNumber) -> str:
    """National format for UK numbers, international for the rest."""
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 44
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def phone_key(value: str | None) -> str | None:
    """Digits that identify a number however it was typed: 07700 900123, +44 7700 900123,
    0044 7700900123 all give 7700900123 (partial numbers give a prefix of it)."""
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return None
    if (value or "").strip().startswith("+44") or digits.startswith("0044"):
        digits = digits[4:] if digits.startswith("0044") else digits[2:]
    elif (value or "").strip().startswith("+"):
        return digits  # other countries: keep the country code
    return digits.lstrip("0") or None
