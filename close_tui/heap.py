"""Keep Python's cyclic garbage collector off the long-lived heap.

A full (generation 2) collection walks every container object the process holds. With
the imported modules of Textual, Rich and pydantic — and, in demo mode, the emulator's
organization of ~22,000 events — that walk took 160–210 ms on our 2-core machines, and it
runs at moments chosen by allocation counts: often just as a big event opens, doubling or
tripling the time to screen (``python bench/hostile.py`` shows both). Those objects live
as long as the process, so collecting them is wasted work.

:func:`freeze_long_lived` collects once, then moves every surviving object into the
collector's permanent generation (``gc.freeze``), which later collections skip. Objects
made afterwards (pages, detail events, widgets) are collected as usual. Called once by
the entry points, after the long-lived objects exist and before the app or server runs.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Collect, then exempt everything alive now from future collections."""
    gc.collect()
    gc.freeze()
