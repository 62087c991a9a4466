"""Số định danh cá nhân: 12 digits = province of birth registration (3), century and sex (1),
year of birth (2), then 6 random digits (ND 137/2015 Art. 13; TT 07/2016/TT-BCA, Phụ lục I, III).
There is no check digit, so the structure is all that can be verified."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from importlib import resources

from vault.kit import days
from vault.kit.errors import InvalidInput

_PATTERN = re.compile(r"^[0-9]{12}$")


@cache
def province_codes() -> dict[str, str]:
    raw = json.loads(resources.files("vault.data").joinpath("provinces.json").read_text())
    return dict(raw["province_codes"])


def birth_year(national_id: str) -> int:
    century = 1900 + 100 * (int(national_id[3]) // 2)
    return century + int(national_id[4:6])


def validate(national_id: str, *, today: date | None = None) -> str:
    national_id = national_id.strip()
    if not _PATTERN.match(national_id):
        raise InvalidInput(
            "A personal identification number has exactly 12 digits.", field="national_id"
        )
    if national_id[:3] not in province_codes():
        raise InvalidInput(
            f"{national_id[:3]} is not a province code of a personal identification number.",
            field="national_id",
        )
    if birth_year(national_id) > (today or days.today()).year:
        raise InvalidInput("The birth year in this number lies in the future.", field="national_id")
    return national_id
