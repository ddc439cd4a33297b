"""The one reading of ``GET /me/`` (login screen, status bar and ``close-tui auth``)."""

from __future__ import annotations

from close_tui.core.me import UNKNOWN_ORGANIZATION, UNKNOWN_USER, parse_me


def test_the_organization_the_key_works_in_wins_over_the_first_listed() -> None:
    me = parse_me({
        "first_name": "Jane", "last_name": "Doe", "email": "jane@acme.com",
        "organization_id": "orga_2",
        "organizations": [{"id": "orga_1", "name": "Other"}, {"id": "orga_2", "name": "Acme"}],
    })
    assert me.person == "Jane Doe" and me.organization == "Acme"
    assert me.user_label == "Jane Doe <jane@acme.com>"
    assert me.organization_label == "Acme"


def test_without_organization_id_the_first_organization_is_taken() -> None:
    me = parse_me({"email": "x@y.z", "organizations": [{"id": "orga_1", "name": "First"}]})
    assert me.organization == "First" and me.user_label == "x@y.z"


def test_missing_and_oddly_typed_fields_never_raise() -> None:
    for body in ({}, {"organizations": "nope"}, {"organizations": [3, None, "x"]},
                 {"organizations": {"id": "orga"}}, {"first_name": None, "id": 7}):
        me = parse_me(body)
        assert me.organization_label == UNKNOWN_ORGANIZATION
    assert parse_me({}).user_label == UNKNOWN_USER
    assert parse_me({"id": "user_1"}).user_label == "user_1"
    assert parse_me({"organizations": [{"id": "orga_9"}]}).organization == "orga_9"


def test_labels_are_made_visible() -> None:
    me = parse_me({"first_name": "Eve\x1b[2J", "organizations": [{"name": "Org\x07"}]})
    assert "\x1b" not in me.user_label and "\x07" not in me.organization_label
    assert me.organization == "Org\x07"  # stored as sent; every display sanitizes
