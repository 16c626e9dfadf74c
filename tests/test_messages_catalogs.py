"""Every text exists in both languages with the same fields: an English deployment never falls
back to Chinese for a message added in one language only, and never fails on a field the other
language's template does not have (str.format raises KeyError at the moment of sending)."""

from __future__ import annotations

import importlib
import string
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def catalogs() -> list[tuple[str, dict[str, dict[str, str]]]]:
    found = []
    for path in sorted((ROOT / "bots").glob("*/messages.py")):
        module = importlib.import_module(f"bots.{path.parent.name}.messages")
        for name, value in vars(module).items():
            if isinstance(value, dict) and {"zh", "en"} <= set(value):
                found.append((f"{path.parent.name}.{name}", value))
    return found


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize(("name", "catalog"), catalogs(), ids=[n for n, _ in catalogs()])
def test_both_languages_have_every_text_with_the_same_fields(
    name: str, catalog: dict[str, dict[str, str]],
) -> None:
    zh, en = catalog["zh"], catalog["en"]
    assert sorted(set(zh) ^ set(en)) == [], f"{name}: texts in one language only"
    differ = {key: (fields(zh[key]), fields(en[key])) for key in zh if fields(zh[key]) != fields(en[key])}
    assert differ == {}, f"{name}: fields differ"
