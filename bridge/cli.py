"""`dutyroom` (the installed console script) and `python -m bridge`: one entry point.

The first argument picks a tool (`roster …`, `dead-letters …`, `kb …`, `report …`, `audit …`,
`retention …`, `notice send …`); anything else runs the bridge itself (mautrix's Program:
`-c config.yaml`, `-g` to write the registration, …).
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "roster":
        from .roster.cli import main as roster_main

        sys.exit(roster_main(args[1:]))
    if args and args[0] == "dead-letters":
        from .dead_letters import main as dead_letters_main

        sys.exit(dead_letters_main(args[1:]))
    if args and args[0] == "kb":  # the knowledge base (bots/knowledge, docs/knowledge.md)
        from bots.knowledge.cli import main as kb_main

        sys.exit(kb_main(args[1:]))
    if args and args[0] == "report":  # 考核 figures (bots/assessment)
        from bots.assessment.cli import main as report_main

        sys.exit(report_main(args[1:]))
    if args and args[0] == "audit":
        from .audit_cli import main as audit_main

        sys.exit(audit_main(args[1:]))
    if args and args[0] == "retention":
        from bots.privacy.cli import main as retention_main

        sys.exit(retention_main(args[1:]))
    if args and args[0] == "notice":  # notices with receipts (bots/notices/cli.py)
        from bots.notices.cli import main as notice_main

        sys.exit(notice_main(args[1:]))
    from .program import DutyRoomProgram

    DutyRoomProgram().run()
