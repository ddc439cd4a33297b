"""A second event source behind the same feed: the explorer pages and opens events from
something that is not the HTTP client (as the local archive will), with no change to the
screen but the ``source`` it is given."""

from __future__ import annotations

from typing import Any

from ui_support import SIZE, make_app, settle

from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.emulator import Emulator
from close_tui.ui.explorer import ExplorerScreen


class ArchivePager:
    def __init__(self, events: list[Event], size: int) -> None:
        self._events, self._size = events, size
        self.exhausted = not events
        self._position = 0

    async def next_page(self) -> list[Event]:
        page = self._events[self._position : self._position + self._size]
        self._position += len(page)
        self.exhausted = self._position >= len(self._events)
        return page


class Archive:
    """Events kept in memory, filtered the way the API filters them."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.pagers = 0
        self.fetched: list[str] = []

    def pager(self, flt: EventFilter) -> ArchivePager:
        self.pagers += 1
        raw = self.emulator.expected(flt.validate().to_params())
        return ArchivePager([Event.model_validate(e) for e in raw], 40)

    async def get_event(self, event_id: str) -> Event:
        self.fetched.append(event_id)
        found = self.emulator.event(event_id)
        assert found is not None
        return Event.model_validate(found)


async def test_the_explorer_runs_on_another_source(ui_emulator: Emulator) -> None:
    lead = sorted(ui_emulator.leads)[2]
    archive = Archive(ui_emulator)
    app = make_app(ui_emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.pop_screen()
        assert app.client is not None
        screen = ExplorerScreen(app.client, settings=app.settings, views=app.views,
                                source=archive)
        app.settings.initial_filter = EventFilter(lead_id=lead)
        await app.push_screen(screen)
        start = len(ui_emulator.request_log)
        await settle(pilot)
        truth = [e["id"] for e in ui_emulator.expected({"lead_id": lead})]
        shown = [screen.table.event_id_at(i) for i in range(screen.table.row_count)]
        assert shown == truth[: len(shown)] and shown
        assert screen.detail.event is not None and archive.fetched == [shown[0]]
        pages: Any = [r for r in ui_emulator.request_log[start:]
                      if r.path.startswith("/api/v1/event/")]
        assert pages == []  # every event came from the archive
        event = screen.detail.event
        await pilot.press("O")  # a pivot is a new feed on the same source
        await settle(pilot)
        assert archive.pagers == 2
        assert screen.current_filter == EventFilter(object_type=event.object_type,
                                                    object_id=event.object_id)
        truth = [e["id"] for e in ui_emulator.expected(screen.current_filter.to_params())]
        assert [screen.table.event_id_at(i) for i in range(screen.table.row_count)] == truth
