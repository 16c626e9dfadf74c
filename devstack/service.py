"""What every part of the stack shares: started and stopped around a `with` block."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

S = TypeVar("S", bound="Service")


class Service:
    def start(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: S) -> S:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
