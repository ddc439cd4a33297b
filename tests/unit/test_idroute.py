"""Where pasted and typed ids belong: the pure rules behind the filter form's paste."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from close_tui.core.catalog import ALL_ACTIONS, OBJECT_TYPE_ACTIONS
from close_tui.core.idroute import (
    UNKNOWN_TYPE_WARNING,
    FieldCheck,
    Route,
    actions_for_context,
    check_field_value,
    extract_value,
    is_id_shaped,
    lead_id_from_url,
    route_paste,
    show,
    types_for_object_id,
)

LEAD = "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0"
USER = "user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA"
REQ = "req_2skaL7v81TflDfovw8A1CC"
ACTI = "acti_4LNDQk2uhg7t8fGUWPyHX7cpCVH9PJtCyCssXFcao3e"
CONT = "cont_5JjMX1o3uyfmHMh6D6CYK1n0a6DqFhsRZ2c7ptpAgbM"
OPPO = "oppo_8eB77gAdf8FMy6GsNHEy84f7uoeEWv55slvUjKQZpJt"
TASK = "task_Bzx0sEB7kUGqbGMF2xdEJycaMBBd0AMHuPOJhB0KlG1"


# -- routing by prefix --------------------------------------------------------------------


@pytest.mark.parametrize("target", [None, "lead_id", "user_id", "object_id", "since", "action"])
@pytest.mark.parametrize(
    ("value", "field"),
    [(USER, "user_id"), (REQ, "request_id"), (ACTI, "object_id"), (TASK, "object_id")],
)
def test_ids_route_by_prefix_wherever_they_are_pasted(
    value: str, field: str, target: str | None
) -> None:
    route = route_paste(value, target)
    assert (route.field, route.value, route.error, route.warning) == (field, value, None, None)


@pytest.mark.parametrize("target", [None, "lead_id", "user_id", "request_id", "until"])
def test_lead_id_goes_to_lead_id_unless_pasted_into_object_id(target: str | None) -> None:
    assert route_paste(LEAD, target) == Route(field="lead_id", value=LEAD)


def test_lead_id_pasted_into_object_id_stays_there_as_a_lead_object() -> None:
    route = route_paste(LEAD, "object_id")
    assert (route.field, route.implied_object_type, route.type_family) == (
        "object_id",
        "lead",
        None,
    )


@pytest.mark.parametrize(
    ("value", "implied", "family"),
    [
        (CONT, "contact", None),
        (OPPO, "opportunity", None),
        (ACTI, None, "activity."),
        (TASK, None, "task."),
    ],
)
def test_object_ids_imply_or_narrow_the_object_type(
    value: str, implied: str | None, family: str | None
) -> None:
    route = route_paste(value, None)
    assert route.field == "object_id"
    assert route.implied_object_type == implied
    assert route.type_family == family


@pytest.mark.parametrize(
    "url",
    [
        f"https://app.close.com/lead/{LEAD}/",
        f"https://app.close.com/lead/{LEAD}",
        f"https://app.close.com/lead/{LEAD}/activity/{ACTI}/?tab=notes#x",
        f"app.close.com/lead/{LEAD}/",
        f"  <https://app.close.com/lead/{LEAD}/?utm=1>  ",
        f"http://app.close.io/lead/{LEAD}/",
    ],
)
@pytest.mark.parametrize("target", [None, "object_id", "since"])
def test_a_close_lead_url_yields_its_lead_id(url: str, target: str | None) -> None:
    assert route_paste(url, target) == Route(field="lead_id", value=LEAD)


def test_a_lead_url_from_another_host_is_read_with_a_warning() -> None:
    route = route_paste(f"https://evil.example/lead/{LEAD}/", None)
    assert (route.field, route.value) == ("lead_id", LEAD)
    assert route.warning is not None and "evil.example" in route.warning


def test_a_url_without_a_lead_id_is_refused() -> None:
    route = route_paste("https://app.close.com/settings/", "lead_id")
    assert route.field is None
    assert route.error is not None and "no lead id" in route.error


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("ev_17VaZdcdnsMNyWY9ZJnjph", "an event id"),
        ("orga_RbREgmiiwcr1w2b4cOnCMQaQPSIFxMqAD2Dh243uxcH", "an organization id"),
        ("stat_1ZdiZqcSIkoGVnNOyxiEY58eTGQmFNG3LPlEVQ4V7Nk", "a status id"),
        ("cf_abcdef", "a custom field id"),
        ("pipe_abc", "a pipeline id"),
    ],
)
@pytest.mark.parametrize("target", [None, "lead_id", "object_id", "object_type", "since"])
def test_ids_that_no_filter_takes_are_refused(value: str, what: str, target: str | None) -> None:
    route = route_paste(value, target)
    assert route.field is None
    assert route.error == f"{show(value)} is {what}: no event filter takes it"


@pytest.mark.parametrize("target", ["lead_id", "user_id", "object_id", "request_id"])
def test_unknown_prefix_is_accepted_with_a_warning_in_the_id_field_it_landed_in(
    target: str,
) -> None:
    route = route_paste("memb_9f8e7d6c5b4a", target)
    assert (route.field, route.value, route.error) == (target, "memb_9f8e7d6c5b4a", None)
    assert route.warning is not None and "unknown id prefix memb_" in route.warning


def test_unknown_prefix_pasted_on_the_form_goes_to_object_id_with_a_warning() -> None:
    route = route_paste("memb_9f8e7d6c5b4a", None)
    assert route.field == "object_id"
    assert route.warning is not None


@pytest.mark.parametrize("target", ["object_type", "action", "since", "until"])
def test_plain_text_in_text_fields_is_inserted_as_is(target: str) -> None:
    for text in ("custom_object", "activity.note", "2h", "2026-11-01T10:00Z", "mystery_thing"):
        route = route_paste(text, target)
        assert route.is_plain_text and route.value == text


def test_type_and_action_names_pasted_on_the_form_go_to_their_fields() -> None:
    assert route_paste("activity.note").field == "object_type"
    assert route_paste("sequence_subscription").field == "object_type"
    assert route_paste("completed", "lead_id").field == "action"


def test_non_id_text_pasted_on_the_form_is_refused_and_quoted_safely() -> None:
    route = route_paste("hello \x1b[31mworld [@click=app.quit]")
    assert route.field is None
    assert route.error is not None
    assert "\x1b" not in route.error and "␛" in route.error


def test_blank_paste_does_nothing() -> None:
    assert route_paste("  \n\t ") == Route(field=None, value="")


@pytest.mark.parametrize(
    "text",
    [
        f'"{USER}"',
        f"'{USER}',",
        f"  {USER}\n",
        f"\n\n{USER}\nuser_other",
        f"({USER});",
        f"`{USER}`",
    ],
)
def test_surrounding_quotes_whitespace_and_punctuation_are_dropped(text: str) -> None:
    assert extract_value(text) == USER
    assert route_paste(text).value == USER


def test_extract_value_caps_huge_pastes() -> None:
    assert len(extract_value("user_" + "a" * 100_000)) <= 2000


def test_lead_id_from_url_ignores_non_lead_segments() -> None:
    assert lead_id_from_url("https://app.close.com/leads/") == (None, None)
    assert lead_id_from_url(f"https://app.close.com/x/{LEAD}/") == (LEAD, None)


def test_is_id_shaped_excludes_type_and_action_names() -> None:
    assert is_id_shaped(USER) and is_id_shaped("memb_x1")
    assert not is_id_shaped("custom_object")
    assert not is_id_shaped("activity.note")
    assert not is_id_shaped("lead_")
    assert not is_id_shaped("user x")


# -- checking a typed value --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("lead_id", LEAD), ("user_id", USER), ("request_id", REQ), ("object_id", ACTI),
     ("object_id", CONT), ("object_id", OPPO), ("object_id", TASK), ("object_id", LEAD)],
)  # fmt: skip
def test_ids_in_their_own_field_pass(field: str, value: str) -> None:
    assert check_field_value(field, value) == FieldCheck(ok=True)
    assert check_field_value(field, f"  {value} ") == FieldCheck(ok=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lead_id", "user_x", "user_x is a user id: it goes in user id"),
        ("user_id", "lead_x", "lead_x is a lead id: it goes in lead id"),
        ("request_id", ACTI, f"{show(ACTI)} is an object id: it goes in object id"),
        ("object_id", "user_x", "user_x is a user id: it goes in user id"),
        ("object_id", "req_x", "req_x is a request id: it goes in request id"),
        ("lead_id", "ev_x", "ev_x is an event id: no event filter takes it"),
        ("object_id", "orga_x", "orga_x is an organization id: no event filter takes it"),
        ("lead_id", "lead_", "lead_ is incomplete"),
        ("user_id", "user_a b", "user_a b has spaces or control characters"),
    ],
)
def test_an_id_that_belongs_elsewhere_is_refused(field: str, value: str, message: str) -> None:
    check = check_field_value(field, value)
    assert (check.ok, check.error) == (False, message)


def test_unknown_or_missing_prefix_is_a_warning() -> None:
    assert check_field_value("lead_id", "zzz_abc").warning is not None
    assert check_field_value("lead_id", "zzz_abc").ok
    assert check_field_value("user_id", "abc123").ok
    assert check_field_value("user_id", "abc123").warning is not None


def test_object_types_known_unknown_and_narrowed_by_the_object_id() -> None:
    assert check_field_value("object_type", "activity.note") == check_field_value("lead_id", "")
    unknown = check_field_value("object_type", "activity.telepathy")
    assert unknown.ok and unknown.warning == UNKNOWN_TYPE_WARNING
    assert check_field_value("object_type", "activity.note", object_id=ACTI).ok
    mismatch = check_field_value("object_type", "contact", object_id=ACTI)
    assert not mismatch.ok and mismatch.error is not None and "activity.*" in mismatch.error
    assert not check_field_value("object_type", "lead", object_id=CONT).ok
    assert check_field_value("object_type", "contact", object_id=CONT).ok
    # An unknown type is allowed whatever the id says: Close may know it.
    assert check_field_value("object_type", "activity.new_thing", object_id=ACTI).ok
    assert not check_field_value("object_type", "acti vity").ok
    assert not check_field_value("object_type", "[b]x[/b]").ok
    assert not check_field_value("object_type", CONT).ok


def test_actions_follow_the_known_type() -> None:
    assert check_field_value("action", "merged", object_type="lead").ok
    refused = check_field_value("action", "merged", object_type="contact")
    assert refused.error == "contact has no action 'merged': use created, updated, deleted"
    # Unknown type: any text, a warning only for actions nobody knows.
    assert check_field_value("action", "merged", object_type="widget").warning is None
    assert check_field_value("action", "teleported", object_type="widget").ok
    assert check_field_value("action", "teleported", object_type="widget").warning
    # No type: every known action is fine; an object id narrows with a warning only.
    assert check_field_value("action", "paused") == check_field_value("action", "")
    assert check_field_value("action", "paused", object_id=CONT).ok
    assert check_field_value("action", "paused", object_id=CONT).warning


def test_offered_types_and_actions() -> None:
    assert types_for_object_id(None) == tuple(OBJECT_TYPE_ACTIONS)
    assert types_for_object_id(CONT) == ("contact",)
    assert types_for_object_id(LEAD) == ("lead",)
    assert all(t.startswith("activity.") for t in types_for_object_id(ACTI))
    assert all(t.startswith("task.") for t in types_for_object_id(TASK))
    assert actions_for_context("activity.call", None) == OBJECT_TYPE_ACTIONS["activity.call"]
    assert actions_for_context("widget", CONT) == ALL_ACTIONS
    assert actions_for_context(None, None) == ALL_ACTIONS
    assert actions_for_context(None, TASK) == ("completed", "created", "deleted", "updated")


# -- properties -----------------------------------------------------------------------------

_FIELDS = st.sampled_from(
    [None, "lead_id", "user_id", "object_type", "object_id", "action", "request_id", "since"]
)
_PREFIXES = st.sampled_from(
    ["lead_", "user_", "req_", "acti_", "cont_", "oppo_", "task_", "ev_", "orga_", "zz_", ""]
)


@given(text=st.text(max_size=200), target=_FIELDS)
def test_route_paste_never_raises_and_is_consistent(text: str, target: str | None) -> None:
    route = route_paste(text, target)
    assert not (route.field is not None and route.error is not None)
    for message in (route.error, route.warning):
        if message is not None:
            assert "\x1b" not in message and "\n" not in message


@given(
    prefix=_PREFIXES,
    body=st.text(st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=127), min_size=1),
    target=_FIELDS,
    wrap=st.sampled_from(["{}", '"{}"', " {} ", "'{}',", "{}\n"]),
)
def test_routed_ids_pass_the_check_of_their_field(
    prefix: str, body: str, target: str | None, wrap: str
) -> None:
    value = prefix + body
    route = route_paste(wrap.format(value), target)
    if route.field is not None and route.field != "object_type" and route.field != "action":
        assert route.value == value
        assert check_field_value(route.field, route.value).ok


@given(
    field=st.sampled_from(["lead_id", "user_id", "object_type", "object_id", "action",
                           "request_id"]),
    value=st.text(max_size=80),
    object_type=st.one_of(st.none(), st.sampled_from(list(OBJECT_TYPE_ACTIONS)), st.text()),
    object_id=st.one_of(st.none(), st.text(max_size=20)),
)  # fmt: skip
def test_check_field_value_never_raises(
    field: str, value: str, object_type: str | None, object_id: str | None
) -> None:
    check = check_field_value(field, value, object_type=object_type, object_id=object_id)
    assert check.ok == (check.error is None)
