"""The command line: `python -m bridge -c config.yaml` runs the bridge, `-g` writes the registration."""

from __future__ import annotations

import sys
from pathlib import Path

from mautrix.util.program import Program

from bots import ALL_BOTS

from .config import EXAMPLE_CONFIG, Config, write_registration
from .config_update import update_config_file
from .runtime import Runtime

VERSION = "0.1.0"


class DutyRoomProgram(Program):
    module = "bridge"
    name = "dutyroom"
    command = "python -m bridge"
    description = "浙江政务通 · 网上值班室: a Matrix application service"
    version = VERSION
    config_class = Config
    config: Config

    def prepare_arg_parser(self) -> None:
        super().prepare_arg_parser()
        self.parser.add_argument(
            "-g", "--generate-registration", action="store_true",
            help="generate the registration file with fresh tokens and quit",
        )
        self.parser.add_argument(
            "-r", "--registration", default="registration.yaml", metavar="<path>",
            help="where to write the registration (default: registration.yaml)",
        )

    @property
    def base_config_path(self) -> str:
        return str(EXAMPLE_CONFIG)

    def prepare_config(self) -> None:
        config_path = Path(self.args.config)
        if not config_path.exists():
            print(f"No config at {config_path}. Copy config.example.yaml there and edit it.")
            sys.exit(10)
        if not self.args.no_update:
            added = update_config_file(config_path, EXAMPLE_CONFIG)
            for key in added:
                print(f"Config: added {key} from config.example.yaml")
        self.config = Config(config_path)
        self.config.load()
        if self.args.generate_registration:
            registration = self.config.generate_registration()
            write_registration(registration, self.args.registration)
            self.config.save()
            print(f"Registration written to {self.args.registration}; tokens saved in {config_path}.")
            print("Add it to the homeserver's app_service_config_files and restart the homeserver.")
            sys.exit(0)

    def prepare(self) -> None:
        super().prepare()
        self.runtime = Runtime(self.config, ALL_BOTS, base_dir=Path.cwd())
        self.add_startup_actions(self.runtime.start())

    async def stop(self) -> None:
        await self.runtime.stop()
        await super().stop()
