"""The căn cước's own rules: when a card expires (Luật Căn cước 2023 Art. 21) and whether a
number belongs to a person born on a date (ND 137/2015 Art. 13)."""

from __future__ import annotations

from datetime import date

MILESTONES = (14, 25, 40, 60)
FOR_LIFE_FROM = 58
GRACE_YEARS = 2  # a card issued within 2 years before a milestone is valid to the next one


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birthday(born: date, age: int) -> date:
    """The day someone turns `age`; one born on 29 February has it on 1 March in other years."""
    year = born.year + age
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def expires_on(born: date, issued: date) -> date | None:
    """The next milestone birthday after the issue date, skipping one less than 2 years away;
    None (valid for life) for a card issued at 58 or later. The printed date is the authority:
    this only fills the field until the citizen confirms it."""
    age = age_on(born, issued)
    if age >= FOR_LIFE_FROM:
        return None
    for milestone in MILESTONES:
        if milestone > age + GRACE_YEARS:
            return birthday(born, milestone)
    return None  # not reached: an age under 58 always has a milestone above it


def number_fits(number: str, born: date, sex: str | None = None) -> bool:
    """Digit 4 is the century and the sex (0/1: 1900s male/female, 2/3: 2000s …), digits 5-6
    the year of birth; there is no check digit."""
    if len(number) != 12 or not number.isdigit():
        return False
    code = int(number[3])
    year = 1900 + 100 * (code // 2) + int(number[4:6])
    if year != born.year:
        return False
    if sex is None:
        return True
    female = code % 2 == 1
    return female == sex.strip().casefold().startswith("n\u1eef")  # "Nữ"
