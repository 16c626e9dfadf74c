import sys

if len(sys.argv) > 1 and sys.argv[1] == "roster":
    from .roster.cli import main

    sys.exit(main(sys.argv[2:]))

if len(sys.argv) > 1 and sys.argv[1] == "dead-letters":
    from .dead_letters import main as dead_letters_main

    sys.exit(dead_letters_main(sys.argv[2:]))

from .program import DutyRoomProgram  # noqa: E402

DutyRoomProgram().run()
