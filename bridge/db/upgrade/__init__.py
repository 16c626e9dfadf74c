"""Schema migrations of the runtime's own tables (bots keep their own upgrade tables)."""

from mautrix.util.async_db import UpgradeTable

upgrade_table = UpgradeTable(version_table_name="runtime_version", database_name="dutyroom runtime")

from . import (  # noqa: E402,F401  (they register themselves)
    v01_initial,
    v02_outbox_event_index,
    v03_inbox_sender,
    v04_outbox_lane,
    v05_dead_letter_resolution,
    v06_inbox_position,
    v07_to_device_catch_up,
    v08_to_device_per_account,
    v09_cross_signing,
    v10_derived_keys,
)
