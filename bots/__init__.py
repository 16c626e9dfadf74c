"""The bots that live on the bridge runtime. Each is readable on its own through bridge.bot."""

from bridge.bot import Bot

from .directory import DirectoryBot

ALL_BOTS: list[type[Bot]] = [DirectoryBot]
