"""Consultations: a citizen's DM with a department becomes a case, a thread for its officers."""

from .bot import ConsultationBot

__all__ = ["ConsultationBot"]
