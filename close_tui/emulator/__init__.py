"""A faithful, deterministic emulator of Close's event log API.

It powers ``close-tui --demo``, the test suite and the benchmarks. No Textual here.
"""

from close_tui.emulator.api import Answer, Emulator, EmulatorConfig, LoggedRequest
from close_tui.emulator.clock import Clock, FakeClock, system_clock

__all__ = [
    "Answer",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "FakeClock",
    "LoggedRequest",
    "system_clock",
]
