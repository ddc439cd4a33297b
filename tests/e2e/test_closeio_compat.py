"""The official `closeio` client pages through our loopback emulator.

A peer nobody here wrote: if its cursor loop (``_cursor`` until ``cursor_next`` is
null) gets exactly the truth, scripts people already run work against the emulator.
"""

from __future__ import annotations

import pytest
from closeio_api import API, APIError

from close_tui.emulator.server import RunningServer

pytestmark = pytest.mark.e2e


def _page_all(api: API, params: dict[str, str]) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    cursor = ""
    while True:
        body = api.get("event", params={**params, "_cursor": cursor})
        events += body["data"]
        cursor = body["cursor_next"]
        if not cursor:
            return events


@pytest.mark.parametrize("kind", ["lead", "type_action", "user_dates", "object"])
def test_closeio_client_pages_to_the_truth(loopback_emulator: RunningServer, kind: str) -> None:
    em = loopback_emulator.emulator
    api = API(loopback_emulator.base_url + "/", api_key=em.admin_key, max_retries=1)
    events = em.events()
    note = next(
        e for e in events if e["object_type"] == "activity.note" and e["action"] == "updated"
    )
    params = {
        "lead": {"lead_id": note["lead_id"]},
        "type_action": {"object_type": "lead", "action": "updated", "_limit": "20"},
        "user_dates": {
            "user_id": note["user_id"],
            "date_updated__gte": "2026-11-12",
            "date_updated__lt": "2026-11-14T06:00:00",
        },
        "object": {"object_id": note["object_id"], "object_type": "activity.note"},
    }[kind]
    got = _page_all(api, params)
    truth = em.expected({k: v for k, v in params.items() if not k.startswith("_")})
    assert got
    assert got == truth


def test_closeio_client_gets_one_event_and_errors(loopback_emulator: RunningServer) -> None:
    em = loopback_emulator.emulator
    api = API(loopback_emulator.base_url + "/", api_key=em.admin_key, max_retries=1)
    ev = em.events()[7]
    assert api.get("event/" + ev["id"]) == ev
    assert api.get("me")["id"] == em.sim.admin_user
    with pytest.raises(APIError) as refused:
        api.get("event", params={"action": "created"})
    assert refused.value.response.status_code == 400
    assert "unsupported filter combination" in refused.value.response.json()["error"]
