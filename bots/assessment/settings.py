"""The `assessment:` settings the figures depend on, read once from the bridge config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bots.consultation.citizen_side import BAD_RATING


@dataclass(frozen=True)
class AssessSettings:
    claim_within_minutes: float = 15  # 按时签收: claimed or answered within, working minutes
    followup_working_hours: float = 2  # 留言跟进: a leave-message answered within (consultation's)
    close_within_working_hours: float = 8  # 按时办结: closed within, working hours
    satisfied_min_level: int = 4  # 满意: a rating at or above this (1–5)
    # A rating at or below this is bad: the consultation bot reopens the case and calls the
    # supervisors (重办). The consultation's own threshold, not a setting of its own.
    bad_rating_max: int = BAD_RATING
    flag_satisfaction_below: float = 0.85
    flag_claim_rate_below: float = 0.90

    @classmethod
    def from_config(cls, config: Any) -> AssessSettings:
        def get(key: str, default: Any) -> Any:
            try:
                value = config[key]
            except (KeyError, TypeError):
                return default
            return default if value is None else value

        return cls(
            claim_within_minutes=float(get("assessment.claim_within_minutes", cls.claim_within_minutes)),
            followup_working_hours=float(get("consultation.followup_working_hours",
                                             cls.followup_working_hours)),
            close_within_working_hours=float(get("assessment.close_within_working_hours",
                                                 cls.close_within_working_hours)),
            satisfied_min_level=int(get("assessment.satisfied_min_level", cls.satisfied_min_level)),
            flag_satisfaction_below=float(get("assessment.flag.satisfaction_below",
                                              cls.flag_satisfaction_below)),
            flag_claim_rate_below=float(get("assessment.flag.claim_rate_below",
                                            cls.flag_claim_rate_below)),
        )
