"""Hostile records: what an attacker (or a careless integration) can put in a Close org.

Anyone who can edit a lead, write a note or name a custom field can put text on the
screen of everyone who browses the event log with close-tui. ``EmulatorConfig(hostile=True)``
mixes the records built here into the emulated organization so the app, the CLI and the
tests meet that text on every path: the table, the detail pane (JSON view and Changes),
the status bar, notifications, the exports.

What is in them, and why:

* **Rich/Textual markup** (``[bold]``, ``[/]``, ``[@click=app.quit]``, ``[link=…]``):
  parsed as markup it would restyle the screen, crash the parser (a stray ``[/]``) or run
  an action.
* **Terminal control sequences**: CSI (colour, clear screen), OSC 52 (writes the user's
  clipboard), OSC 8 (hyperlinks), OSC 0 (window title), BEL, BS, CR, C1 controls. Written
  raw to a terminal they act instead of being shown.
* **Unicode that moves or hides text**: right-to-left override, zero-width characters,
  wide CJK and emoji (column arithmetic).
* **Sizes and shapes**: a 64 KB note, data nested 200 deep, a 10,000-element array,
  numbers no int or float holds: 10**400, an integer of 5,000 digits (Python refuses
  to read it), ``1e400`` (a float literal Python reads as ``inf``) and ``1e-400`` (read
  as ``0.0``), keys that contain ``[/``.

Every escape sequence carries a *marker* that appears nowhere else (``SE9TVElMRQ`` is
base64 of "HOSTILE"), so a test reading the raw bytes a terminal receives can tell an
escape sequence that came from event data from the ones Textual writes itself.

The records are the newest events of the organization (the last minute before "now"),
so they are on the first page of every unfiltered view. No Textual here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from close_tui.emulator.dataset import MS_SECOND, Json, LeadSim, Obj, OrgSim, Rec

# --------------------------------------------------------------------------- markers
#: OSC 52 "set clipboard" with base64("HOSTILE"): executed, it overwrites the clipboard.
OSC52: Final = "\x1b]52;c;SE9TVElMRQ==\x07"
OSC52_RAW: Final = "\x1b]52;c;SE9TVElMRQ"
#: OSC 8 hyperlink to evil.example, terminated with ST (ESC \\).
OSC8: Final = "\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
OSC8_RAW: Final = "\x1b]8;;http://evil"
#: OSC 0 sets the window title.
OSC_TITLE: Final = "\x1b]0;PWNED-TITLE\x07"
OSC_TITLE_RAW: Final = "\x1b]0;PWNED-TITLE"
#: Clear screen, behind a marker that only event data contains.
CLEAR: Final = "ZZ1\x1b[2J"
CSI_COLOUR: Final = "ZZ2\x1b[31;1mRED\x1b[0m"
CSI_COLOUR_RAW: Final = "ZZ2\x1b[31"
#: BEL, BS, CR behind markers.
BEL: Final = "ZZ3\x07"
BS_CR: Final = "ZZ4\x08\x08\rZZ5"
#: C1 CSI (U+009B) as some terminals read it.
C1_CSI: Final = "ZZ6\x9b2J"
RLO: Final = "ZZ7\u202egnp.exe"
ZERO_WIDTH: Final = "ZZ8\u200b\u200c\u200d\ufeffZZ9"
WIDE: Final = "漢字テスト🦄👩\u200d👩\u200d👧 Ｗｉｄｅ"

#: Markup that, if parsed, would style, break the parser, or run an action.
MARKUP_BOLD: Final = "[bold red]BOLD?[/]"
MARKUP_CLOSE: Final = "Acme [/] Inc"
MARKUP_CLICK: Final = "[@click=app.quit]quit[/]"
MARKUP_LINK: Final = "[link=http://evil.example/]evil link[/link]"

#: The raw escape forms a terminal must never receive (from data), and what the
#: visible form of each looks like once ``core.sanitize`` has made it safe.
FORBIDDEN_RAW: Final[tuple[str, ...]] = (
    OSC52_RAW,
    OSC8_RAW,
    OSC_TITLE_RAW,
    "ZZ1\x1b[2J",
    CSI_COLOUR_RAW,
    "ZZ3\x07",
    "ZZ4\x08",
    "ZZ6\x9b",
    "ZZ7\u202e",
    "ZZ8\u200b",
)
VISIBLE_FORMS: Final[dict[str, str]] = {
    OSC52_RAW: "␛]52;c;SE9TVElMRQ",
    OSC8_RAW: "␛]8;;http://evil",
    "ZZ1\x1b[2J": "ZZ1␛[2J",
    "ZZ3\x07": "ZZ3␇",
    "ZZ7\u202e": "ZZ7<U+202E>",
}

#: Every hostile fragment in one string (for names and values).
EVERYTHING: Final = " ".join(
    (
        MARKUP_BOLD,
        MARKUP_CLOSE,
        MARKUP_CLICK,
        MARKUP_LINK,
        OSC52,
        OSC8,
        OSC_TITLE,
        CLEAR,
        CSI_COLOUR,
        BEL,
        BS_CR,
        C1_CSI,
        RLO,
        ZERO_WIDTH,
        WIDE,
    )
)

LEAD_NAME: Final = f"{MARKUP_CLOSE} {MARKUP_CLICK} {OSC52} {CLEAR} {RLO} {WIDE}"
CONTACT_NAME: Final = f"{MARKUP_BOLD} {OSC8} {BEL} {ZERO_WIDTH}"
USER_FIRST: Final = f"[@click=app.quit]Mallory[/] {OSC_TITLE}"
USER_LAST: Final = f"{CSI_COLOUR} {BS_CR}"
ORGANIZATION_NAME: Final = f"Hostile [b]Org[/b] {OSC52} {OSC_TITLE} {C1_CSI} {MARKUP_CLOSE}"
UNKNOWN_TYPE: Final = "custom_object.[bold]Evil[/]\x1b[2J"
REQUEST_PATH: Final = f"/api/v1/lead/{OSC52}/[@click=app.quit]x[/]"
#: A custom field whose *key* contains markup-breaking ``[/``.
CF_KEY: Final = "custom.cf_[/]Evil[@click=app.quit]"
NOTE_BYTES: Final = 64 * 1024
DEPTH: Final = 200
ARRAY_LENGTH: Final = 10_000
HUGE_INT: Final = 10**400
#: Valid JSON numbers Python's json module cannot read exactly: ``float`` makes ``1e400``
#: ``inf`` (and writes it back as ``Infinity``, not JSON) and ``1e-400`` zero; ``int``
#: refuses more than 4,300 digits. Held as Decimal, written exactly (core.jsonnum).
HUGE_FLOAT: Final = Decimal("1e400")
TINY_FLOAT: Final = Decimal("1e-400")
LONG_INT: Final = Decimal("9" * 5000)

#: Ids of the hostile objects (well-formed: ids are routed, put in URLs and filters).
HOSTILE_USER_ID: Final = "user_Hostile" + "0" * 31
HOSTILE_LEAD_ID: Final = "lead_Hostile" + "0" * 31
HOSTILE_CONTACT_ID: Final = "cont_Hostile" + "0" * 31
HOSTILE_NOTE_ID: Final = "acti_HostileNote" + "0" * 27
HOSTILE_OBJECT_ID: Final = "obj_Hostile" + "0" * 32


def long_note() -> str:
    """A 64 KB note: every hostile fragment, then numbered filler lines, to 64 KiB."""
    head = f"{EVERYTHING}\n{MARKUP_CLOSE}\n"
    lines = [head]
    size = len(head.encode())
    n = 0
    while size < NOTE_BYTES:
        line = f"line {n:05d} [dim]filler[/dim] \x1b[7m{n}\x1b[0m \u202e{n}\n"
        lines.append(line)
        size += len(line.encode())
        n += 1
    text = "".join(lines)
    return text.encode()[:NOTE_BYTES].decode("utf-8", "ignore")


def nested(depth: int = DEPTH) -> Json:
    """``{"level": 1, "next": {"level": 2, ... {"bottom": "[/]"}}}``, ``depth`` levels."""
    node: Json = {"bottom": f"{MARKUP_CLOSE} {CLEAR}"}
    for level in range(depth, 0, -1):
        node = {"level": level, "next": node}
    return node


def add_hostile(sim: OrgSim) -> list[Rec]:
    """Add the hostile user, lead, contact, note, update and unknown-type records to
    ``sim`` (after :meth:`OrgSim.build`, before the event store is made from
    ``sim.recs``), and rename the organization. Deterministic: same sim, same records."""
    now = sim.now_ms
    org_id = sim.org_id
    sim.organization["name"] = ORGANIZATION_NAME

    user_id = HOSTILE_USER_ID
    sim.users.append(
        {
            "id": user_id,
            "first_name": USER_FIRST,
            "last_name": USER_LAST,
            "email": f"mallory+{CLEAR}@evil.example",
            "image": "",
            "role": "member",
            "is_owner": False,
            "organizations": [org_id],
            "date_created": sim.fmt_data(now - 40 * 86_400_000),
            "date_updated": sim.fmt_data(now - 40 * 86_400_000),
        }
    )
    sim.user_names[user_id] = f"{USER_FIRST} {USER_LAST}"
    sim.user_ids.append(user_id)

    made: list[Rec] = []
    t = now - 60 * MS_SECOND  # the last minute: the newest events of the org

    def stamp(ms: int) -> Json:
        ts = sim.fmt_data(ms)
        return {
            "created_by": user_id,
            "created_by_name": sim.user_names[user_id],
            "updated_by": user_id,
            "updated_by_name": sim.user_names[user_id],
            "date_created": ts,
            "date_updated": ts,
        }

    # A lead with a hostile name, custom field value and custom field key.
    lead_id = HOSTILE_LEAD_ID
    lead_state: Json = {
        "id": lead_id,
        "display_name": LEAD_NAME,
        "name": LEAD_NAME,
        "status_id": sim.lead_statuses[0][0],
        "status_label": f"{MARKUP_CLICK} {OSC8}",
        "description": EVERYTHING,
        "url": f"https://evil.example/{OSC52}",
        "organization_id": org_id,
        sim.cf_industry: f"{MARKUP_LINK} {CSI_COLOUR}",
        sim.cf_source: WIDE,
        CF_KEY: f"{MARKUP_BOLD} {BEL}",
        **stamp(t),
    }
    lead = Obj("lead", lead_id, lead_id, lead_state)
    lead_sim = LeadSim(lead, user_id)
    sim.lead_sims[lead_id] = lead_sim
    create_req = sim.req(user_id, "POST", REQUEST_PATH, user_agent=f"evil/{OSC_TITLE}")
    made.append(sim.create(lead, t, create_req))

    # A contact with a hostile name.
    t += 5 * MS_SECOND
    contact_id = HOSTILE_CONTACT_ID
    contact = Obj(
        "contact",
        contact_id,
        lead_id,
        {
            "id": contact_id,
            "lead_id": lead_id,
            "organization_id": org_id,
            "name": CONTACT_NAME,
            "display_name": CONTACT_NAME,
            "title": f"{MARKUP_CLICK} CEO",
            "emails": [{"type": "office", "email": f"x{OSC52}@evil.example"}],
            "phones": [{"type": "office", "phone": f"+1{BEL}555"}],
            **stamp(t),
        },
    )
    lead_sim.contacts.append(contact)
    lead_sim.children.append(contact)
    made.append(sim.create(contact, t, create_req))

    # A 64 KB note.
    t += 5 * MS_SECOND
    note_id = HOSTILE_NOTE_ID
    note = Obj(
        "activity.note",
        note_id,
        lead_id,
        {
            "_type": "Note",
            "id": note_id,
            "lead_id": lead_id,
            "contact_id": contact_id,
            "organization_id": org_id,
            "user_id": user_id,
            "user_name": sim.user_names[user_id],
            "note": long_note(),
            **stamp(t),
        },
    )
    lead_sim.children.append(note)
    note_req = sim.req(user_id, "POST", "/api/v1/activity/note/")
    made.append(sim.create(note, t, note_req))

    # An update of the lead: hostile old *and* new values (the Changes tab, the diff).
    t += 5 * MS_SECOND
    update_req = sim.req(user_id, "PUT", f"/api/v1/lead/{lead_id}/{CLEAR}")
    made.append(
        sim.update(
            lead,
            t,
            update_req,
            {
                "display_name": f"{LEAD_NAME} (renamed {OSC8})",
                "name": f"{LEAD_NAME} (renamed {OSC8})",
                CF_KEY: f"{MARKUP_CLICK} {OSC52}",
                "description": f"{RLO} {ZERO_WIDTH} {BS_CR}",
            },
        )
    )

    # An object type nobody knows, with markup in it, and every awkward shape of data.
    t += 5 * MS_SECOND
    odd_id = HOSTILE_OBJECT_ID
    odd = Obj(
        UNKNOWN_TYPE,
        odd_id,
        lead_id,
        {
            "id": odd_id,
            "lead_id": lead_id,
            "organization_id": org_id,
            "name": f"{MARKUP_LINK} {OSC8} {WIDE}",
            "nested": nested(),
            "big_array": list(range(ARRAY_LENGTH)),
            "huge_int": HUGE_INT,
            "huge_float": HUGE_FLOAT,
            "tiny_float": TINY_FLOAT,
            "long_int": LONG_INT,
            "[/]key": f"{MARKUP_CLOSE} value",
            f"key {OSC52}": f"{CLEAR} value",
            **stamp(t),
        },
    )
    lead_sim.children.append(odd)
    odd_req = sim.req(
        user_id, "POST", f"/api/v1/custom_object/{MARKUP_CLICK}", source=f"{OSC8} {BEL}"
    )
    odd_rec = sim.create(odd, t, odd_req)
    made.append(odd_rec)
    return made

