"""Texts shown to citizens and officers: simplified Chinese by default, English selectable."""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("dutyroom.messages")

LANGUAGES = ("zh", "en")


class Messages:
    """A catalog `{language: {key: template}}`; templates use str.format fields."""

    def __init__(self, language: str = "zh") -> None:
        if language not in LANGUAGES:
            raise ValueError(f"messages.language must be one of {LANGUAGES}, not {language!r}")
        self.language = language
        self.catalog: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}

    def add(self, catalog: Mapping[str, Mapping[str, str]]) -> None:
        for lang, texts in catalog.items():
            self.catalog.setdefault(lang, {}).update(texts)

    def __call__(self, key: str, **fields: object) -> str:
        template = self.catalog[self.language].get(key) or self.catalog["zh"].get(key)
        if template is None:
            log.error("No text for message %r", key)
            return key
        return template.format(**fields)
