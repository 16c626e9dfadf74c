from .bot import PrivacyBot

__all__ = ["PrivacyBot"]
