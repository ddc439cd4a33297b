"""A deterministic synthetic Close organization: users, leads and 30 days of events.

Everything is derived from a seed and a "now", so the same inputs give the same ids,
texts and timestamps (the tests and the screenshots rely on it). The organization is
*simulated*, not sampled: every object keeps its current state and each event is emitted
by an operation on that state, so ``data``/``previous_data``/``changed_fields`` always
agree with the object's history (an update's ``previous_data`` really is what the last
event's ``data`` said), deletes carry the last full state, and a lead deletion fans out
over the children the lead really had at that moment.

Speed matters (``close-tui --demo`` must draw its first row within 1.5 s), so the hot
path avoids ``datetime`` (integer epoch milliseconds, cached day strings) and builds
plain dicts in their final JSON shape once.
"""

from __future__ import annotations

import gc
import random
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from close_tui.core.catalog import OBJECT_TYPE_ACTIONS
from close_tui.emulator import names

B62: Final = string.digits + string.ascii_letters
_B62_TABLE: Final = bytes(ord(B62[i % 62]) for i in range(256))
MS_SECOND: Final = 1000
MS_MINUTE: Final = 60 * MS_SECOND
MS_HOUR: Final = 60 * MS_MINUTE
MS_DAY: Final = 24 * MS_HOUR
WINDOW_DAYS: Final = 30
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

Json = dict[str, Any]


def to_ms(when: datetime) -> int:
    """Aware datetime -> integer epoch milliseconds (floored)."""
    delta = when.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


class Rec:
    """One stored event plus what the store needs to order and reveal it.

    ``k`` orders records newest first: ``(-date_updated_ms, -2*seq)``. ``seq`` is the
    global emission counter, so events of one object that share a millisecond keep their
    true order; it is doubled so that page boundaries (odd numbers) never equal a record.
    """

    __slots__ = ("blob", "created_ms", "ev", "k", "ms", "seq", "visible_ms")

    def __init__(self, ms: int, seq: int, ev: Json) -> None:
        #: The event's JSON, encoded once on first use (cleared when it changes).
        self.blob: bytes | None = None
        self.ms = ms
        self.created_ms = ms
        self.seq = seq
        self.k = (-ms, -2 * seq)
        self.ev = ev
        self.visible_ms = ms

    def move(self, ms: int, seq: int) -> None:
        self.blob = None
        self.ms = ms
        self.seq = seq
        self.k = (-ms, -2 * seq)


class Obj:
    """A simulated Close object: its current API state and its latest event."""

    __slots__ = ("alive", "id", "last", "lead_id", "state", "type")

    def __init__(self, object_type: str, object_id: str, lead_id: str | None, state: Json) -> None:
        self.type = object_type
        self.id = object_id
        self.lead_id = lead_id
        self.state = state
        self.alive = True
        self.last: Rec | None = None


class Req:
    """One API request (or background job): shared by every event it emits."""

    __slots__ = ("api_key_id", "id", "meta", "user_id")

    def __init__(self, rid: str, user_id: str | None, api_key_id: str | None, meta: Json) -> None:
        self.id = rid
        self.user_id = user_id
        self.api_key_id = api_key_id
        self.meta = meta


class LeadSim:
    __slots__ = ("children", "contacts", "deleted", "horizon", "lead", "max_ms", "opps", "owner")

    def __init__(self, lead: Obj, owner: str) -> None:
        self.lead = lead
        self.owner = owner
        self.children: list[Obj] = []
        self.contacts: list[Obj] = []
        self.opps: list[Obj] = []
        self.deleted = False
        self.horizon = 0
        self.max_ms = 0


#: Id prefixes of the objects we simulate (Close's own where known, plausible otherwise).
_PREFIX: Final = {
    "lead": "lead_",
    "contact": "cont_",
    "opportunity": "oppo_",
    "unsubscribed_email": "unsub_",
    "import": "imp_",
    "export.lead": "expo_",
    "export.opportunity": "expo_",
    "custom_activity_type": "actitype_",
    "custom_object_type": "cotype_",
    "custom_object": "custobj_",
    "status.lead": "stat_",
    "status.opportunity": "stat_",
    "group": "group_",
    "saved_search": "save_",
    "phone_number": "phon_",
    "email_template": "tmpl_",
    "sms_template": "smstmpl_",
    "sequence": "seq_",
    "sequence_subscription": "sub_",
    "comment": "comm_",
    "comment_thread": "cmth_",
    "membership": "memb_",
}


def _prefix(object_type: str) -> str:
    if object_type.startswith("activity."):
        return "acti_"
    if object_type.startswith("task."):
        return "task_"
    if object_type.startswith("custom_fields."):
        return "cf_"
    if object_type.startswith("bulk_action."):
        return "bulk_"
    return _PREFIX.get(object_type, "obj_")


_ACTIVITY_CLASS: Final = {
    "note": "Note",
    "email": "Email",
    "sms": "SMS",
    "call": "Call",
    "meeting": "Meeting",
    "email_thread": "EmailThread",
    "whatsapp_message": "WhatsAppMessage",
    "form_submission": "FormSubmission",
    "custom_activity": "CustomActivity",
    "lead_status_change": "LeadStatusChange",
    "opportunity_status_change": "OpportunityStatusChange",
    "lead_merge": "LeadMerge",
    "task_completed": "TaskCompleted",
}

#: Lead-scoped object types that each get full lifecycles (every action) somewhere, so the
#: dataset covers the whole catalog whatever the seed (given enough leads).
SWEEP_TYPES: Final = tuple(
    t
    for t in OBJECT_TYPE_ACTIONS
    if t.startswith(("task.", "activity."))
    or t
    in (
        "contact",
        "opportunity",
        "unsubscribed_email",
        "custom_object",
        "sequence_subscription",
        "comment",
        "comment_thread",
    )
)

#: Organization-scoped object types (their events have ``lead_id: null``): the catalog's
#: created/updated/deleted types that no lead owns, in the catalog's order. Derived, so a
#: type added to the catalog is covered by the dataset without a second list to edit.
ORG_CRUD_TYPES: Final = tuple(
    t
    for t, actions in OBJECT_TYPE_ACTIONS.items()
    if actions == ("created", "updated", "deleted")
    and t not in SWEEP_TYPES
    and t not in ("contact", "opportunity")
)

_STATUS_WORDS: Final = {
    "sent": "sent",
    "answered": "answered",
    "completed": "completed",
    "scheduled": "upcoming",
    "started": "in-progress",
    "canceled": "canceled",
    "paused": "paused",
    "reverting": "reverting",
    "reverted": "reverted",
}


class OrgSim:
    """The simulated organization; :meth:`build` fills it, :meth:`live_step` extends it."""

    def __init__(self, seed: int, now: datetime, n_users: int = 8, n_leads: int = 240) -> None:
        if n_users < 2:
            raise ValueError("n_users must be at least 2 (an admin and a member)")
        self.seed = seed
        self.rng = random.Random(seed)
        self.now_ms = to_ms(now)
        self.start_ms = self.now_ms - WINDOW_DAYS * MS_DAY
        self.n_users = n_users
        self.n_leads = n_leads
        self.recs: list[Rec] = []
        self.seq = 0
        self._minutes: dict[int, str] = {}
        self._last_ms = -1
        self._last_text = ""
        self.horizon = self.now_ms
        self.cur_max = 0
        self.allow_consolidation = True
        self.lead_sims: dict[str, LeadSim] = {}
        self.deleted_lead_ids: set[str] = set()
        self._make_keys()
        self._make_org()

    # ------------------------------------------------------------------ primitives

    def new_id(self, prefix: str, n: int = 43) -> str:
        # Random bytes mapped onto base62 in C: ids are the hottest path of generation
        # (``rng.choices`` made up half of it). The slight bias of ``byte % 62`` is harmless.
        return prefix + self.rng.randbytes(n).translate(_B62_TABLE).decode("ascii")

    def fmt(self, ms: int) -> str:
        """Naive UTC, 6 fractional digits, millisecond precision (the events' form)."""
        # Hot path (~50k calls): consecutive calls often share the instant (an event and
        # the state it snapshots), and minutes repeat, so memoize both.
        if ms == self._last_ms:
            return self._last_text
        minute, r = divmod(ms, MS_MINUTE)
        head = self._minutes.get(minute)
        if head is None:
            head = (_EPOCH + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")
            self._minutes[minute] = head
        s, f = divmod(r, MS_SECOND)
        text = f"{head}{s:02d}.{f:03d}000"
        self._last_ms = ms
        self._last_text = text
        return text

    def fmt_data(self, ms: int) -> str:
        """Dates inside ``data`` carry an explicit ``+00:00``."""
        return self.fmt(ms) + "+00:00"

    def req(
        self,
        user_id: str | None,
        method: str,
        path: str,
        api_key_id: str | None = None,
        **extra: Any,
    ) -> Req:
        meta: Json = {"request_method": method, "request_path": path}
        meta.update(extra)
        return Req(self.new_id("req_", 22), user_id, api_key_id, meta)

    def emit(
        self,
        ms: int,
        obj: Obj,
        action: str,
        req: Req,
        data: Json | None,
        prev: Json,
        changed: list[str],
    ) -> Rec:
        self.seq += 1
        ts = self.fmt(ms)
        ev: Json = {
            "id": self.new_id("ev_", 22),
            "date_created": ts,
            "date_updated": ts,
            "organization_id": self.org_id,
            "user_id": req.user_id,
            "request_id": req.id,
            "api_key_id": req.api_key_id,
            "object_type": obj.type,
            "object_id": obj.id,
            "lead_id": obj.lead_id,
            "action": action,
            "changed_fields": changed,
            "meta": req.meta,
            "data": data,
            "previous_data": prev,
        }
        rec = Rec(ms, self.seq, ev)
        self.recs.append(rec)
        obj.last = rec
        if ms > self.cur_max:
            self.cur_max = ms
        return rec

    def create(self, obj: Obj, ms: int, req: Req) -> Rec:
        return self.emit(ms, obj, "created", req, dict(obj.state), {}, [])

    def update(
        self,
        obj: Obj,
        ms: int,
        req: Req,
        changes: Json,
        action: str = "updated",
        consolidate: bool = False,
    ) -> Rec:
        """Apply ``changes``; emit an event, or fold them into the object's last update.

        Folding is Close's consolidation: the same event id gets a newer
        ``date_updated``, the union of changed fields and the newest data, while
        ``previous_data`` keeps the values from before the *first* folded edit.
        """
        state = obj.state
        last = obj.last
        if last is not None and ms < last.ms:
            ms = last.ms  # never let an object's events run backwards
        if (
            consolidate
            and self.allow_consolidation
            and last is not None
            and last.ev["action"] == "updated"
            and action == "updated"
            and last.ev["request_id"] == req.id
            and ms - last.created_ms <= 5 * MS_MINUTE
            and ms > last.ms
        ):
            ev = last.ev
            prev = ev["previous_data"]
            for key in changes:
                if key not in prev:
                    prev[key] = state.get(key)
            self._apply(state, changes, ms, req.user_id)
            ev["changed_fields"] = sorted({*ev["changed_fields"], *changes})
            ev["data"] = dict(state)
            ev["date_updated"] = self.fmt(ms)
            self.seq += 1
            last.move(ms, self.seq)
            if ms > self.cur_max:
                self.cur_max = ms
            return last
        prev = {key: state.get(key) for key in changes}
        if "date_updated" in state:
            prev["date_updated"] = state["date_updated"]
        self._apply(state, changes, ms, req.user_id)
        changed = sorted({*changes, "date_updated"}) if "date_updated" in state else sorted(changes)
        return self.emit(ms, obj, action, req, dict(state), prev, changed)

    def _apply(self, state: Json, changes: Json, ms: int, user_id: str | None) -> None:
        state.update(changes)
        if "date_updated" in state:
            state["date_updated"] = self.fmt_data(ms)
        if "updated_by" in state and user_id is not None:
            state["updated_by"] = user_id
            if "updated_by_name" in state:
                state["updated_by_name"] = self.user_names[user_id]

    def delete(self, obj: Obj, ms: int, req: Req) -> Rec:
        obj.alive = False
        if obj.last is not None and ms < obj.last.ms:
            ms = obj.last.ms
        return self.emit(ms, obj, "deleted", req, None, dict(obj.state), [])

    # ------------------------------------------------------------------ organization

    def _make_keys(self) -> None:
        # Keys come from their own stream so dataset changes never change them.
        keys = random.Random(f"keys:{self.seed}")

        def part(n: int = 22) -> str:
            return "".join(keys.choices(B62, k=n))

        self.admin_key = f"api_{part()}.{part()}"
        self.member_key = f"api_{part()}.{part()}"
        self.admin_key_id = self.admin_key.partition(".")[0]
        self.member_key_id = self.member_key.partition(".")[0]
        #: An integration that deletes contacts in bulk; a Zapier-like sync key.
        self.integration_key_id = "api_5xZ" + part(19)
        self.zapier_key_id = "api_" + part()

    def _make_org(self) -> None:
        rng = self.rng
        self.org_id = self.new_id("orga_")
        self.organization: Json = {
            "id": self.org_id,
            "name": rng.choice(names.ORGANIZATION_NAMES),
            "date_created": self.fmt_data(self.start_ms - 400 * MS_DAY),
        }
        self.users: list[Json] = []
        self.user_names: dict[str, str] = {}
        used: set[tuple[str, str]] = set()
        domain = self.organization["name"].lower().replace(" ", "") + ".example.com"
        for i in range(self.n_users):
            while True:
                first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
                if (first, last) not in used:
                    used.add((first, last))
                    break
            uid = self.new_id("user_")
            created = self.start_ms - rng.randint(30, 300) * MS_DAY
            if i == self.n_users - 2 and self.n_users >= 4:
                created = self.start_ms + 9 * MS_DAY  # the new hire, activated in the window
            email_local = (first[0] + last).lower().replace("'", "").replace(" ", "")
            self.users.append(
                {
                    "id": uid,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{email_local}@{domain}",
                    "image": "",
                    "role": "admin" if i == 0 else "member",
                    "is_owner": i == 0,
                    "organizations": [self.org_id],
                    "date_created": self.fmt_data(created),
                    "date_updated": self.fmt_data(created),
                }
            )
            self.user_names[uid] = f"{first} {last}"
        self.admin_user: str = self.users[0]["id"]
        self.member_user: str = self.users[1]["id"]
        self.user_ids = [u["id"] for u in self.users]
        # A user who joins during the window, and one who leaves.
        self.joined_user = self.user_ids[-2] if self.n_users >= 4 else None
        self.joined_ms = self.start_ms + 9 * MS_DAY
        self.left_user = self.user_ids[-1] if self.n_users >= 4 else None
        self.left_ms = self.start_ms + 21 * MS_DAY
        self.lead_statuses = [(self.new_id("stat_"), label) for label in names.LEAD_STATUSES]
        self.opp_statuses = [
            (self.new_id("stat_"), label, kind, conf)
            for label, kind, conf in names.OPPORTUNITY_STATUSES
        ]
        self.cf_industry = "custom." + self.new_id("cf_")
        self.cf_source = "custom." + self.new_id("cf_")
        self.cf_region = "custom." + self.new_id("cf_")

    def active_user(self, ms: int, preferred: str) -> str:
        if preferred == self.joined_user and ms < self.joined_ms:
            return self.admin_user
        if preferred == self.left_user and ms >= self.left_ms:
            return self.admin_user
        return preferred

    def pick_user(self, ms: int, owner: str) -> str:
        if self.rng.random() < 0.7:
            return self.active_user(ms, owner)
        return self.active_user(ms, self.rng.choice(self.user_ids))

    # ------------------------------------------------------------------ object builders

    def _stamp(self, ms: int, user: str | None) -> Json:
        ts = self.fmt_data(ms)
        name = self.user_names[user] if user else None
        return {
            "created_by": user,
            "created_by_name": name,
            "updated_by": user,
            "updated_by_name": name,
            "date_created": ts,
            "date_updated": ts,
        }

    def new_lead_obj(self, ms: int, user: str | None) -> Obj:
        rng = self.rng
        lid = self.new_id("lead_")
        if rng.random() < 0.03:
            company = rng.choice(names.ODD_COMPANIES)
        else:
            company = f"{rng.choice(names.COMPANY_HEADS)} {rng.choice(names.COMPANY_TAILS)}"
        status_id, status_label = self.lead_statuses[0]
        slug = company.lower().replace(" ", "").replace("&", "and")[:20]
        state: Json = {
            "id": lid,
            "display_name": company,
            "name": company,
            "status_id": status_id,
            "status_label": status_label,
            "description": "",
            "url": f"https://{slug}.example.com",
            "organization_id": self.org_id,
            self.cf_industry: rng.choice(names.INDUSTRIES),
            self.cf_source: rng.choice(names.LEAD_SOURCES),
            **self._stamp(ms, user),
        }
        return Obj("lead", lid, lid, state)

    def new_contact_obj(self, ms: int, user: str | None, lead: Obj) -> Obj:
        rng = self.rng
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        cid = self.new_id("cont_")
        host = lead.state["url"].removeprefix("https://")
        local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        state: Json = {
            "id": cid,
            "lead_id": lead.id,
            "organization_id": self.org_id,
            "name": f"{first} {last}",
            "display_name": f"{first} {last}",
            "title": rng.choice(names.TITLES),
            "emails": [{"type": "office", "email": f"{local}@{host}"}],
            "phones": [{"type": "office", "phone": f"+1{rng.randint(2002000000, 9899999999)}"}],
            **self._stamp(ms, user),
        }
        return Obj("contact", cid, lead.id, state)

    def new_activity_obj(
        self, kind: str, ms: int, user: str | None, lead: LeadSim, **fields: Any
    ) -> Obj:
        aid = self.new_id("acti_")
        name = self.user_names[user] if user else None
        contact_id = self.rng.choice(lead.contacts).id if lead.contacts else None
        state: Json = {
            "_type": _ACTIVITY_CLASS.get(kind, "Activity"),
            "id": aid,
            "lead_id": lead.lead.id,
            "contact_id": contact_id,
            "organization_id": self.org_id,
            "user_id": user,
            "user_name": name,
            **fields,
            **self._stamp(ms, user),
        }
        obj = Obj("activity." + kind, aid, lead.lead.id, state)
        lead.children.append(obj)
        return obj

    def new_task_obj(
        self, kind: str, ms: int, user: str | None, lead: LeadSim, assignee: str
    ) -> Obj:
        tid = self.new_id("task_")
        company = lead.lead.state["display_name"]
        state: Json = {
            "_type": kind,
            "id": tid,
            "lead_id": lead.lead.id,
            "lead_name": company,
            "assigned_to": assignee,
            "assigned_to_name": self.user_names[assignee],
            "text": self.rng.choice(names.TASK_TEXTS).format(company=company),
            "date": self.fmt(ms + self.rng.randint(1, 7) * MS_DAY)[:10],
            "is_complete": False,
            "is_dateless": False,
            "organization_id": self.org_id,
            **self._stamp(ms, user),
        }
        obj = Obj("task." + kind, tid, lead.lead.id, state)
        lead.children.append(obj)
        return obj

    def new_generic_obj(
        self, object_type: str, ms: int, user: str | None, lead: LeadSim | None
    ) -> Obj:
        oid = self.new_id(_prefix(object_type))
        label = object_type.rsplit(".", 1)[-1].replace("_", " ")
        state: Json = {
            "id": oid,
            "organization_id": self.org_id,
            "name": f"{label.capitalize()} {self.rng.randint(1, 999)}",
            **self._stamp(ms, user),
        }
        lead_id = None
        if lead is not None:
            lead_id = lead.lead.id
            state["lead_id"] = lead_id
        obj = Obj(object_type, oid, lead_id, state)
        if lead is not None:
            lead.children.append(obj)
        return obj

    def note_text(self) -> str:
        return " ".join(self.rng.sample(names.NOTE_SENTENCES, self.rng.randint(1, 3)))

    # ------------------------------------------------------------------ lead life

    def ok(self, ms: int) -> bool:
        return ms <= self.horizon

    def lead_creation(self, ms: int, user: str | None, req: Req | None = None) -> LeadSim:
        """A POST /lead/ with 1-3 contacts: one request, one millisecond, several events."""
        lead_obj = self.new_lead_obj(ms, user)
        owner = user or self.rng.choice(self.user_ids[1:])
        sim = LeadSim(lead_obj, owner)
        self.lead_sims[lead_obj.id] = sim
        if req is None:
            req = self.req(user, "POST", "/api/v1/lead/")
        self.create(lead_obj, ms, req)
        for _ in range(self.rng.choice((1, 1, 2, 2, 3))):
            contact = self.new_contact_obj(ms, user, lead_obj)
            sim.contacts.append(contact)
            sim.children.append(contact)
            self.create(contact, ms, req)
        return sim

    def preexisting_lead(self, ms: int) -> LeadSim:
        """A lead created before the window: state exists, its creation event is gone."""
        user = self.rng.choice(self.user_ids[1:])
        lead_obj = self.new_lead_obj(ms, user)
        sim = LeadSim(lead_obj, user)
        self.lead_sims[lead_obj.id] = sim
        for _ in range(self.rng.choice((1, 2, 2, 3))):
            contact = self.new_contact_obj(ms, user, lead_obj)
            sim.contacts.append(contact)
            sim.children.append(contact)
        lead_obj.state["status_id"], lead_obj.state["status_label"] = self.rng.choice(
            self.lead_statuses
        )
        return sim

    def act_note(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        note = self.new_activity_obj("note", ms, user, sim, note=self.note_text())
        self.create(note, ms, self.req(user, "POST", "/api/v1/activity/note/"))
        # Notes are edited while typing: Close fires an update per autosave (noisy),
        # sometimes folding a burst of autosaves into one consolidated event.
        t = ms
        path = f"/api/v1/activity/note/{note.id}/"
        req = self.req(user, "PUT", path)
        for _ in range(rng.choice((0, 1, 2, 3, 3, 4, 5, 6))):
            t += rng.randint(2, 25) * MS_SECOND + rng.randint(0, 999)
            if not self.ok(t):
                return
            fold = rng.random() < 0.35
            if not fold:
                req = self.req(user, "PUT", path)
            text = note.state["note"] + " " + rng.choice(names.NOTE_SENTENCES)
            self.update(note, t, req, {"note": text[-1500:]}, consolidate=fold)

    def act_email_out(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        company = sim.lead.state["display_name"]
        to = [c.state["emails"][0]["email"] for c in sim.contacts[:1]]
        email = self.new_activity_obj(
            "email",
            ms,
            user,
            sim,
            direction="outgoing",
            status="draft",
            subject=rng.choice(names.EMAIL_SUBJECTS).format(company=company),
            body_text=self.note_text(),
            sender=self.users[self.user_ids.index(user)]["email"],
            to=to,
            date_sent=None,
        )
        self.create(email, ms, self.req(user, "POST", "/api/v1/activity/email/"))
        t = ms
        path = f"/api/v1/activity/email/{email.id}/"
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            t += rng.randint(3, 40) * MS_SECOND + rng.randint(0, 999)
            if not self.ok(t):
                return
            body = email.state["body_text"] + " " + rng.choice(names.NOTE_SENTENCES)
            self.update(email, t, self.req(user, "PUT", path), {"body_text": body})
        t += rng.randint(1, 15) * MS_MINUTE + rng.randint(0, 999)
        if not self.ok(t):
            return
        req = self.req(user, "PUT", path)
        self.update(email, t, req, {"status": "sent", "date_sent": self.fmt_data(t)}, "sent")
        if rng.random() < 0.3:
            thread = self.new_activity_obj(
                "email_thread", t, user, sim, subject=email.state["subject"], n_emails=1
            )
            self.create(thread, t, req)

    def act_email_in(self, sim: LeadSim, ms: int) -> None:
        """An incoming email: written by the mail sync (no user), with an inbox task."""
        rng = self.rng
        sys = self.req(None, "POST", "/api/v1/activity/email/")
        email = self.new_activity_obj(
            "email",
            ms,
            None,
            sim,
            direction="incoming",
            status="inbox",
            subject="Re: "
            + rng.choice(names.EMAIL_SUBJECTS).format(company=sim.lead.state["display_name"]),
            body_text=self.note_text(),
            date_sent=self.fmt_data(ms),
        )
        self.create(email, ms, sys)
        task = self.new_task_obj("incoming_email", ms, None, sim, sim.owner)
        self.create(task, ms, sys)
        self.finish_task(sim, task, ms + rng.randint(10, 600) * MS_MINUTE)

    def finish_task(self, sim: LeadSim, task: Obj, t: int) -> None:
        if not self.ok(t):
            return
        rng = self.rng
        user = self.active_user(t, task.state["assigned_to"])
        path = f"/api/v1/task/{task.id}/"
        if rng.random() < 0.1:
            self.delete(task, t, self.req(user, "DELETE", path))
            sim.children.remove(task)
            return
        req = self.req(user, "PUT", path)
        self.update(task, t, req, {"is_complete": True}, "completed")
        done = self.new_activity_obj(
            "task_completed", t, user, sim, task_id=task.id, task_text=task.state["text"]
        )
        self.create(done, t, req)

    def act_call(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        phone = sim.contacts[0].state["phones"][0]["phone"] if sim.contacts else None
        outgoing = rng.random() < 0.75
        call = self.new_activity_obj(
            "call",
            ms,
            user,
            sim,
            direction="outbound" if outgoing else "inbound",
            status="in-progress",
            duration=0,
            phone=phone,
            note="",
        )
        req = self.req(user, "POST", "/api/v1/activity/call/")
        self.create(call, ms, req)
        path = f"/api/v1/activity/call/{call.id}/"
        if rng.random() < 0.25:
            # Nobody picked up: a missed-call task (or a voicemail) appears.
            t = ms + rng.randint(20, 45) * MS_SECOND
            if not self.ok(t):
                return
            self.update(call, t, self.req(None, "PUT", path), {"status": "no-answer"}, "completed")
            kind = "missed_call" if not outgoing else rng.choice(("outgoing_call", "voicemail"))
            task = self.new_task_obj(kind, t, None, sim, sim.owner)
            self.create(task, t, self.req(None, "POST", "/api/v1/task/"))
            self.finish_task(sim, task, t + rng.randint(30, 2000) * MS_MINUTE)
            return
        t = ms + rng.randint(3, 25) * MS_SECOND + rng.randint(0, 999)
        if not self.ok(t):
            return
        self.update(call, t, self.req(None, "PUT", path), {"status": "answered"}, "answered")
        t += rng.randint(1, 40) * MS_MINUTE
        if not self.ok(t):
            return
        duration = (t - ms) // 1000
        self.update(
            call,
            t,
            self.req(None, "PUT", path),
            {"status": "completed", "duration": duration},
            "completed",
        )
        if rng.random() < 0.5:
            t += rng.randint(5, 120) * MS_SECOND
            if self.ok(t):
                self.update(call, t, self.req(user, "PUT", path), {"note": self.note_text()})

    def act_sms(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        first = sim.contacts[0].state["name"].split(" ")[0] if sim.contacts else "there"
        text = rng.choice(names.SMS_TEXTS).format(first=first)
        if rng.random() < 0.3:
            sys = self.req(None, "POST", "/api/v1/activity/sms/")
            sms = self.new_activity_obj(
                "sms", ms, None, sim, direction="inbound", status="inbox", text=text
            )
            self.create(sms, ms, sys)
            task = self.new_task_obj("incoming_sms", ms, None, sim, sim.owner)
            self.create(task, ms, sys)
            self.finish_task(sim, task, ms + rng.randint(5, 900) * MS_MINUTE)
            return
        user = self.pick_user(ms, sim.owner)
        sms = self.new_activity_obj(
            "sms", ms, user, sim, direction="outbound", status="outbox", text=text
        )
        self.create(sms, ms, self.req(user, "POST", "/api/v1/activity/sms/"))
        t = ms + rng.randint(1, 8) * MS_SECOND + rng.randint(0, 999)
        if self.ok(t):
            path = f"/api/v1/activity/sms/{sms.id}/"
            self.update(sms, t, self.req(None, "PUT", path), {"status": "sent"}, "sent")

    def act_meeting(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        starts = ms + rng.randint(2, 96) * MS_HOUR
        starts -= starts % (30 * MS_MINUTE)
        meeting = self.new_activity_obj(
            "meeting",
            ms,
            user,
            sim,
            title=rng.choice(names.MEETING_TITLES).format(company=sim.lead.state["display_name"]),
            status="draft",
            starts_at=self.fmt_data(starts),
            ends_at=self.fmt_data(starts + 30 * MS_MINUTE),
        )
        sync = self.req(None, "POST", "/api/v1/activity/meeting/")
        self.create(meeting, ms, sync)
        path = f"/api/v1/activity/meeting/{meeting.id}/"
        t = ms + rng.randint(1, 90) * MS_SECOND
        if not self.ok(t):
            return
        self.update(meeting, t, self.req(None, "PUT", path), {"status": "upcoming"}, "scheduled")
        if rng.random() < 0.15:
            t = starts - rng.randint(1, 24) * MS_HOUR
            if self.ok(t) and t > meeting.last.ms:  # type: ignore[union-attr]
                self.update(
                    meeting, t, self.req(user, "PUT", path), {"status": "canceled"}, "canceled"
                )
            return
        if not self.ok(starts):
            return
        self.update(
            meeting, starts, self.req(None, "PUT", path), {"status": "in-progress"}, "started"
        )
        t = starts + rng.randint(20, 60) * MS_MINUTE
        if self.ok(t):
            self.update(
                meeting, t, self.req(None, "PUT", path), {"status": "completed"}, "completed"
            )

    def act_task(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        kind = "lead" if rng.random() < 0.8 else "email_followup"
        task = self.new_task_obj(kind, ms, user, sim, self.active_user(ms, sim.owner))
        self.create(task, ms, self.req(user, "POST", "/api/v1/task/"))
        t = ms
        if rng.random() < 0.3:
            t += rng.randint(1, 48) * MS_HOUR
            if not self.ok(t):
                return
            new_date = self.fmt(t + rng.randint(1, 5) * MS_DAY)[:10]
            self.update(
                task, t, self.req(user, "PUT", f"/api/v1/task/{task.id}/"), {"date": new_date}
            )
        self.finish_task(sim, task, t + rng.randint(1, 96) * MS_HOUR)

    def act_lead_update(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        lead = sim.lead
        path = f"/api/v1/lead/{lead.id}/"
        choice = rng.random()
        if choice < 0.4:
            changes: Json = {"description": rng.choice(names.NOTE_SENTENCES)}
        elif choice < 0.7:
            changes = {self.cf_industry: rng.choice(names.INDUSTRIES)}
        elif choice < 0.85:
            changes = {self.cf_region: rng.choice(("EMEA", "NA", "APAC", "LATAM"))}
        else:
            changes = {"url": lead.state["url"].replace("https://", "https://www.", 1)}
        req = self.req(user, "PUT", path)
        self.update(lead, ms, req, changes)
        # An inline edit often continues within seconds: consolidated into the same event.
        if rng.random() < 0.3:
            t = ms + rng.randint(2, 50) * MS_SECOND
            if self.ok(t):
                self.update(
                    lead, t, req, {self.cf_source: rng.choice(names.LEAD_SOURCES)}, consolidate=True
                )

    def act_status(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        lead = sim.lead
        old_label = lead.state["status_label"]
        new_id, new_label = rng.choice(self.lead_statuses)
        if new_label == old_label:
            return
        req = self.req(user, "PUT", f"/api/v1/lead/{lead.id}/")
        self.update(lead, ms, req, {"status_id": new_id, "status_label": new_label})
        change = self.new_activity_obj(
            "lead_status_change",
            ms,
            user,
            sim,
            old_status_label=old_label,
            new_status_label=new_label,
            new_status_id=new_id,
        )
        self.create(change, ms, req)

    def act_opportunity(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        if not sim.opps or rng.random() < 0.25:
            sid, label, kind, conf = self.opp_statuses[0]
            value = rng.choice((500, 1200, 2500, 5000, 12000, 25000, 60000)) * 100
            oid = self.new_id("oppo_")
            state: Json = {
                "id": oid,
                "lead_id": sim.lead.id,
                "lead_name": sim.lead.state["display_name"],
                "contact_id": sim.contacts[0].id if sim.contacts else None,
                "organization_id": self.org_id,
                "status_id": sid,
                "status_label": label,
                "status_type": kind,
                "confidence": conf,
                "value": value,
                "value_currency": "USD",
                "value_period": rng.choice(("one_time", "monthly", "annual")),
                "value_formatted": f"${value // 100:,}",
                "note": "",
                "user_id": user,
                "user_name": self.user_names[user],
                "date_won": None,
                **self._stamp(ms, user),
            }
            opp = Obj("opportunity", oid, sim.lead.id, state)
            sim.opps.append(opp)
            sim.children.append(opp)
            req = self.req(user, "POST", "/api/v1/opportunity/")
            self.create(opp, ms, req)
            if rng.random() < 0.3:
                task = self.new_task_obj("opportunity_due", ms, None, sim, user)
                task.state["object_id"] = oid
                self.create(task, ms, req)
            return
        opp = rng.choice(sim.opps)
        path = f"/api/v1/opportunity/{opp.id}/"
        req = self.req(user, "PUT", path)
        roll = rng.random()
        if roll < 0.08:
            self.delete(opp, ms, self.req(user, "DELETE", path))
            sim.opps.remove(opp)
            sim.children.remove(opp)
            return
        if roll < 0.35:
            value = opp.state["value"] + rng.choice((-1, 1, 2)) * 50000
            value = max(value, 10000)
            self.update(opp, ms, req, {"value": value, "value_formatted": f"${value // 100:,}"})
            return
        sid, label, kind, conf = rng.choice(self.opp_statuses)
        if label == opp.state["status_label"]:
            return
        old = opp.state["status_label"]
        changes = {"status_id": sid, "status_label": label, "status_type": kind, "confidence": conf}
        if kind == "won":
            changes["date_won"] = self.fmt(ms)[:10]
        self.update(opp, ms, req, changes)
        change = self.new_activity_obj(
            "opportunity_status_change",
            ms,
            user,
            sim,
            opportunity_id=opp.id,
            old_status_label=old,
            new_status_label=label,
        )
        self.create(change, ms, req)

    def act_contact(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        if not sim.contacts or rng.random() < 0.4:
            contact = self.new_contact_obj(ms, user, sim.lead)
            sim.contacts.append(contact)
            sim.children.append(contact)
            self.create(contact, ms, self.req(user, "POST", "/api/v1/contact/"))
            return
        contact = rng.choice(sim.contacts)
        path = f"/api/v1/contact/{contact.id}/"
        if rng.random() < 0.5:
            changes: Json = {"title": rng.choice(names.TITLES)}
        else:
            phones = [
                *contact.state["phones"],
                {"type": "mobile", "phone": f"+1{rng.randint(2002000000, 9899999999)}"},
            ]
            changes = {"phones": phones}
        self.update(contact, ms, self.req(user, "PUT", path), changes)

    def act_misc(self, sim: LeadSim, ms: int) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            # A WhatsApp integration writes through its own API key.
            req = self.req(
                self.admin_user,
                "POST",
                "/api/v1/activity/whatsapp_message/",
                api_key_id=self.zapier_key_id,
            )
            msg = self.new_activity_obj(
                "whatsapp_message",
                ms,
                self.admin_user,
                sim,
                direction="incoming",
                message_markdown=self.note_text(),
            )
            self.create(msg, ms, req)
        elif roll < 0.5:
            form = self.new_activity_obj(
                "form_submission",
                ms,
                None,
                sim,
                form_name="Contact us",
                fields={"message": self.note_text()},
            )
            self.create(form, ms, self.req(None, "POST", "/api/v1/activity/form_submission/"))
        elif roll < 0.75:
            user = self.pick_user(ms, sim.owner)
            thread = self.new_generic_obj("comment_thread", ms, user, sim)
            req = self.req(user, "POST", "/api/v1/comment/")
            self.create(thread, ms, req)
            comment = self.new_generic_obj("comment", ms, user, sim)
            comment.state["body"] = rng.choice(names.NOTE_SENTENCES)
            comment.state["thread_id"] = thread.id
            self.create(comment, ms, req)
        else:
            user = self.pick_user(ms, sim.owner)
            act = self.new_activity_obj(
                "custom_activity", ms, user, sim, activity_type="Site visit", status="draft"
            )
            self.create(act, ms, self.req(user, "POST", "/api/v1/activity/custom/"))
            t = ms + rng.randint(10, 300) * MS_SECOND
            if self.ok(t):
                self.update(
                    act,
                    t,
                    self.req(user, "PUT", f"/api/v1/activity/custom/{act.id}/"),
                    {"status": "published"},
                )

    def sweep(self, sim: LeadSim, ms: int, object_type: str) -> None:
        """A full lifecycle of one object: every documented action of its type, then gone."""
        rng = self.rng
        user = self.pick_user(ms, sim.owner)
        if object_type.startswith("activity."):
            kind = object_type.removeprefix("activity.")
            obj = self.new_activity_obj(kind, ms, user, sim, status="draft", note=self.note_text())
        elif object_type.startswith("task."):
            obj = self.new_task_obj(object_type.removeprefix("task."), ms, user, sim, sim.owner)
        elif object_type == "contact":
            obj = self.new_contact_obj(ms, user, sim.lead)
            sim.children.append(obj)
        else:
            obj = self.new_generic_obj(object_type, ms, user, sim)
        base = "/api/v1/" + object_type.replace(".", "/") + "/"
        self.create(obj, ms, self.req(user, "POST", base))
        path = f"{base}{obj.id}/"
        t = ms
        actions = OBJECT_TYPE_ACTIONS[object_type]
        for action in actions:
            if action in ("created", "deleted"):
                continue
            t += rng.randint(1, 60) * MS_MINUTE + rng.randint(0, 999)
            if not self.ok(t):
                return
            if action == "updated":
                changes: Json = {"name" if "name" in obj.state else "note": self.note_text()[:80]}
            elif action == "completed" and object_type.startswith("task."):
                changes = {"is_complete": True}
            else:
                changes = {"status": _STATUS_WORDS.get(action, action)}
            self.update(obj, t, self.req(user, "PUT", path), changes, action)
        if "deleted" in actions:
            t += rng.randint(1, 600) * MS_MINUTE
            if self.ok(t):
                self.delete(obj, t, self.req(user, "DELETE", path))
                sim.children.remove(obj)

    def delete_lead(self, sim: LeadSim, ms: int, req: Req) -> None:
        """A lead deletion fans out: each live child is deleted first, in one request."""
        for child in list(sim.children):
            if child.alive:
                self.delete(child, ms, req)
        sim.children.clear()
        sim.contacts.clear()
        sim.opps.clear()
        self.delete(sim.lead, ms, req)
        sim.deleted = True
        self.deleted_lead_ids.add(sim.lead.id)

    def merge_leads(self, source: LeadSim, dest: LeadSim, ms: int, user: str) -> None:
        """Close's merge: children move (updates), a merge activity, lead.merged, source gone."""
        req = self.req(
            user,
            "POST",
            "/api/v1/lead/merge/",
            merge_source_lead_id=source.lead.id,
            merge_destination_lead_id=dest.lead.id,
        )
        for child in list(source.children):
            if not child.alive:
                continue
            child.lead_id = dest.lead.id
            self.update(child, ms, req, {"lead_id": dest.lead.id})
            dest.children.append(child)
            if child.type == "contact":
                dest.contacts.append(child)
            elif child.type == "opportunity":
                dest.opps.append(child)
        source.children.clear()
        source.contacts.clear()
        source.opps.clear()
        merge = self.new_activity_obj(
            "lead_merge",
            ms,
            user,
            dest,
            source_lead_id=source.lead.id,
            source_lead_name=source.lead.state["display_name"],
            destination_lead_id=dest.lead.id,
        )
        self.create(merge, ms, req)
        self.emit(ms, dest.lead, "merged", req, dict(dest.lead.state), {}, [])
        self.delete(source.lead, ms, req)
        source.deleted = True
        self.deleted_lead_ids.add(source.lead.id)

    _ACTIONS: Final = (
        ("note", 24),
        ("email_out", 16),
        ("email_in", 7),
        ("call", 12),
        ("sms", 6),
        ("meeting", 4),
        ("task", 10),
        ("lead_update", 8),
        ("status", 5),
        ("opportunity", 7),
        ("contact", 5),
        ("misc", 4),
    )

    def run_lead(
        self,
        sim: LeadSim,
        start: int,
        horizon: int,
        n_actions: int,
        touches: list[tuple[int, Callable[[LeadSim, int], None]]],
        sweep_type: str | None,
    ) -> None:
        """Play one lead's history between ``start`` and ``horizon``."""
        rng = self.rng
        self.horizon = horizon
        self.cur_max = start
        span = max(horizon - start, MS_MINUTE)
        kinds = [name for name, _ in self._ACTIONS]
        weights = [w for _, w in self._ACTIONS]
        acts: dict[str, Callable[[LeadSim, int], None]] = {
            name: getattr(self, "act_" + name) for name in kinds
        }
        plan: list[tuple[int, Callable[[LeadSim, int], None]]] = [
            (start + int(rng.random() * span), acts[kind])
            for kind in rng.choices(kinds, weights, k=n_actions)
        ]
        if sweep_type is not None:
            t_sweep = start + int(rng.random() * span * 0.5)
            plan.append((t_sweep, lambda s, t: self.sweep(s, t, sweep_type)))
        plan.extend(touches)
        plan.sort(key=lambda item: item[0])
        for ms, act in plan:
            if ms <= horizon and not sim.deleted:
                act(sim, ms)
        sim.max_ms = self.cur_max
        self.horizon = self.now_ms

    # ------------------------------------------------------------------ the whole org

    def build(self) -> None:
        """Generate the whole 30-day history.

        The cyclic garbage collector is paused meanwhile: generation allocates ~10^6
        long-lived, acyclic objects, and repeated gen-2 scans of them cost up to half the
        build time (more when other big structures are alive in the process).
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._build()
        finally:
            if enabled:
                gc.enable()

    def _build(self) -> None:
        rng = self.rng
        start, now = self.start_ms, self.now_ms
        span = now - start
        n = self.n_leads
        # Which leads end early, and how (decided up front so the plan stays consistent).
        starts: list[int] = []
        pre: list[bool] = []
        for _ in range(n):
            is_pre = rng.random() < 0.3
            pre.append(is_pre)
            starts.append(start if is_pre else start + int(rng.random() * span * 0.85))
        early = sorted(range(n), key=lambda i: starts[i])  # oldest leads first
        touches: dict[int, list[tuple[int, Callable[[LeadSim, int], None]]]] = {
            i: [] for i in range(n)
        }
        horizons = [now] * n
        t_merge = now - 4 * MS_DAY + rng.randint(0, MS_DAY)
        t_bulk_delete = start + 22 * MS_DAY + rng.randint(0, MS_DAY)
        t_bulk_edit = start + 12 * MS_DAY + rng.randint(0, MS_DAY)
        t_bulk_email = start + 16 * MS_DAY + rng.randint(0, MS_DAY)
        t_bulk_seq = start + 8 * MS_DAY + rng.randint(0, MS_DAY)
        t_integration = start + 25 * MS_DAY + rng.randint(0, MS_DAY)
        pool = list(early[: max(2, n // 2)])
        rng.shuffle(pool)
        merge_pair: tuple[int, int] | None = None
        bulk_deleted: list[int] = []
        single_deleted: list[int] = []
        if len(pool) >= 9:
            merge_pair = (pool.pop(), pool.pop())
            horizons[merge_pair[0]] = t_merge - 1
            bulk_deleted = [pool.pop() for _ in range(4)]
            for i in bulk_deleted:
                horizons[i] = t_bulk_delete - 1
            single_deleted = [pool.pop() for _ in range(3)]
            for i in single_deleted:
                horizons[i] = min(
                    now, max(starts[i] + 2 * MS_DAY, now - rng.randint(1, 20) * MS_DAY)
                )
        special = set(bulk_deleted) | set(single_deleted)
        if merge_pair:
            special |= set(merge_pair)
        normal = [i for i in early if i not in special]
        self.bulk_ids: dict[str, str] = {}

        # Bulk edit: 30 leads, one request, one millisecond, each a lead.updated.
        edit_id = self.new_id("bulk_", 22)
        self.bulk_ids["edit"] = edit_id
        edit_req = self.req(
            self.admin_user, "POST", "/api/v1/bulk_action/edit/", bulk_action_id=edit_id
        )
        region = rng.choice(("EMEA", "NA", "APAC"))
        for i in [i for i in normal if starts[i] < t_bulk_edit - MS_HOUR][:30]:
            touches[i].append((t_bulk_edit, self._touch_bulk_edit(edit_req, region)))
        # Bulk email: emails written by the worker in batches of 10 (one request each).
        email_id = self.new_id("bulk_", 22)
        self.bulk_ids["email"] = email_id
        targets = [i for i in normal if starts[i] < t_bulk_email - MS_HOUR][30:50]
        for j, i in enumerate(targets):
            if j % 10 == 0:
                batch_req = self.req(
                    self.member_user, "POST", "/api/v1/bulk_action/email/", bulk_action_id=email_id
                )
                batch_ms = t_bulk_email + (j // 10) * 40 * MS_MINUTE
            touches[i].append((batch_ms, self._touch_bulk_email(batch_req)))
        # Bulk sequence subscription: 12 leads subscribed in one request.
        seq_id = self.new_id("bulk_", 22)
        self.bulk_ids["sequence_subscription"] = seq_id
        seq_req = self.req(
            self.member_user,
            "POST",
            "/api/v1/bulk_action/sequence_subscription/",
            bulk_action_id=seq_id,
        )
        for i in [i for i in normal if starts[i] < t_bulk_seq - MS_HOUR][50:62]:
            touches[i].append((t_bulk_seq, self._touch_sequence(seq_req)))
        # An integration key deletes one contact per lead, one DELETE each, ~150 ms apart.
        for j, i in enumerate([i for i in normal if starts[i] < t_integration - MS_HOUR][:25]):
            touches[i].append((t_integration + j * rng.randint(90, 220), self._touch_api_delete))

        order = list(range(n))
        if merge_pair:
            # The source must be played before the destination that absorbs it.
            order.remove(merge_pair[0])
            order.insert(0, merge_pair[0])
        sims: dict[int, LeadSim] = {}
        sweep_types = SWEEP_TYPES
        for i in order:
            if pre[i]:
                sim = self.preexisting_lead(starts[i] - rng.randint(1, 200) * MS_DAY)
                first = start + rng.randint(0, 3 * MS_DAY)
            else:
                self.horizon = horizons[i]
                sim = self.lead_creation(
                    starts[i], self.active_user(starts[i], self.rng.choice(self.user_ids[1:]))
                )
                first = starts[i] + MS_MINUTE
            sims[i] = sim
            if merge_pair and i == merge_pair[1]:
                touches[i].append((t_merge, self._touch_merge(sims[merge_pair[0]])))
            self.run_lead(
                sim,
                first,
                horizons[i],
                rng.randint(16, 44),
                touches[i],
                sweep_types[i % len(sweep_types)],
            )
        for i in single_deleted:
            sim = sims[i]
            t = min(now, sim.max_ms + rng.randint(1, 180) * MS_MINUTE)
            user = self.active_user(t, sim.owner)
            self.delete_lead(sim, t, self.req(user, "DELETE", f"/api/v1/lead/{sim.lead.id}/"))
        bulk_req = None
        if bulk_deleted:
            del_id = self.new_id("bulk_", 22)
            self.bulk_ids["delete"] = del_id
            bulk_req = self.req(
                self.admin_user, "POST", "/api/v1/bulk_action/delete/", bulk_action_id=del_id
            )
            for i in bulk_deleted:
                self.delete_lead(sims[i], t_bulk_delete, bulk_req)
        self.merge_ids = (
            (sims[merge_pair[0]].lead.id, sims[merge_pair[1]].lead.id) if merge_pair else None
        )
        self.horizon = now
        self._org_timeline(
            t_bulk_edit, t_bulk_email, t_bulk_seq, t_bulk_delete if bulk_deleted else None
        )
        self.horizon = now

    def _touch_merge(self, source: LeadSim) -> Callable[[LeadSim, int], None]:
        def touch(dest: LeadSim, ms: int) -> None:
            self.merge_leads(source, dest, ms, self.active_user(ms, dest.owner))

        return touch

    def _touch_bulk_edit(self, req: Req, region: str) -> Callable[[LeadSim, int], None]:
        def touch(sim: LeadSim, ms: int) -> None:
            self.update(sim.lead, ms, req, {self.cf_region: region})

        return touch

    def _touch_bulk_email(self, req: Req) -> Callable[[LeadSim, int], None]:
        def touch(sim: LeadSim, ms: int) -> None:
            if not sim.contacts:
                return
            email = self.new_activity_obj(
                "email",
                ms,
                req.user_id,
                sim,
                direction="outgoing",
                status="outbox",
                subject="Spring update from " + self.organization["name"],
                body_text="Hi! Here is what is new this season.",
                date_sent=None,
            )
            self.create(email, ms, req)
            t = ms + self.rng.randint(200, 4000)
            if self.ok(t):
                self.update(
                    email, t, req, {"status": "sent", "date_sent": self.fmt_data(t)}, "sent"
                )

        return touch

    def _touch_sequence(self, req: Req) -> Callable[[LeadSim, int], None]:
        def touch(sim: LeadSim, ms: int) -> None:
            if not sim.contacts:
                return
            sub = self.new_generic_obj("sequence_subscription", ms, req.user_id, sim)
            sub.state["contact_id"] = sim.contacts[0].id
            sub.state["status"] = "active"
            self.create(sub, ms, req)

        return touch

    def _touch_api_delete(self, sim: LeadSim, ms: int) -> None:
        if len(sim.contacts) < 2:
            return
        contact = sim.contacts.pop()
        sim.children.remove(contact)
        req = self.req(
            self.admin_user,
            "DELETE",
            f"/api/v1/contact/{contact.id}/",
            api_key_id=self.integration_key_id,
        )
        self.delete(contact, ms, req)

    def _org_timeline(self, t_edit: int, t_email: int, t_seq: int, t_delete: int | None) -> None:
        """Organization-level events: settings, imports, exports, bulk actions, members."""
        rng = self.rng
        start, now = self.start_ms, self.now_ms
        admin = self.admin_user

        def when(lo: float = 0.0, hi: float = 1.0) -> int:
            return start + int((lo + rng.random() * (hi - lo)) * (now - start - MS_HOUR))

        for object_type in ORG_CRUD_TYPES:
            n_objects = 3 if object_type in ("saved_search", "email_template") else 2
            for j in range(n_objects):
                t = when(0.0, 0.7)
                user = (
                    admin if rng.random() < 0.6 else self.active_user(t, rng.choice(self.user_ids))
                )
                obj = self.new_generic_obj(object_type, t, user, None)
                base = "/api/v1/" + object_type.replace(".", "/").replace("_fields", "_field") + "/"
                self.create(
                    obj,
                    t,
                    self.req(
                        user,
                        "POST",
                        base,
                        api_key_id=(
                            self.admin_key_id
                            if j == 1 and object_type.startswith("custom_fields")
                            else None
                        ),
                    ),
                )
                for _ in range(rng.randint(1, 8 if object_type == "saved_search" else 4)):
                    t += rng.randint(1, 3000) * MS_MINUTE
                    if t >= now:
                        break
                    self.update(
                        obj,
                        t,
                        self.req(user, "PUT", f"{base}{obj.id}/"),
                        {"name": obj.state["name"].split(" ")[0] + f" v{rng.randint(2, 9)}"},
                    )
                if j == 0:
                    t = max(t, obj.last.ms if obj.last else t) + rng.randint(1, 600) * MS_MINUTE
                    if t < now:
                        self.delete(obj, t, self.req(user, "DELETE", f"{base}{obj.id}/"))

        # Members: one joins (activated), one leaves (deactivated).
        for uid, t, action in (
            (self.joined_user, self.joined_ms, "activated"),
            (self.left_user, self.left_ms, "deactivated"),
        ):
            if uid is None:
                continue
            memb = Obj(
                "membership",
                self.new_id("memb_"),
                None,
                {
                    "id": "",
                    "user_id": uid,
                    "organization_id": self.org_id,
                    "role_id": "member",
                    "active": action == "activated",
                },
            )
            memb.state["id"] = memb.id
            self.emit(
                t,
                memb,
                action,
                self.req(admin, "POST", "/api/v1/membership/"),
                dict(memb.state),
                {},
                [],
            )

        self._imports()
        self._exports(when)
        self._bulk_objects("edit", t_edit, admin, paused=True)
        self._bulk_objects("email", t_email, self.member_user, paused=True)
        self._bulk_objects("sequence_subscription", t_seq, self.member_user, paused=True)
        if t_delete is not None:
            self._bulk_objects("delete", t_delete, admin, paused=True)

    def _bulk_objects(self, kind: str, t: int, user: str, paused: bool) -> None:
        rng = self.rng
        bid = self.bulk_ids.get(kind) or self.new_id("bulk_", 22)
        obj = Obj(
            "bulk_action." + kind,
            bid,
            None,
            {
                "id": bid,
                "organization_id": self.org_id,
                "status": "created",
                "query": 'lead_status:"Potential"',
                "n_objects": 0,
                **self._stamp(t - 900, user),
            },
        )
        path = f"/api/v1/bulk_action/{kind}/"
        self.create(obj, t - 900, self.req(user, "POST", path))
        self.update(obj, t - 400, self.req(None, "PUT", path + bid + "/"), {"status": "running"})
        end = t + rng.randint(2, 50) * MS_SECOND
        if paused:
            self.update(
                obj,
                t + 20 * MS_MINUTE,
                self.req(user, "PUT", path + bid + "/"),
                {"status": "paused"},
                "paused",
            )
            self.update(
                obj,
                t + 35 * MS_MINUTE,
                self.req(user, "PUT", path + bid + "/"),
                {"status": "running"},
            )
            end = t + 90 * MS_MINUTE
        self.update(
            obj, end, self.req(None, "PUT", path + bid + "/"), {"status": "done"}, "completed"
        )

    def _exports(self, when: Callable[[float, float], int]) -> None:
        rng = self.rng
        for kind in ("lead", "opportunity", "lead"):
            t = when(0.1, 0.95)
            user = self.active_user(t, rng.choice(self.user_ids))
            eid = self.new_id("expo_")
            obj = Obj(
                "export." + kind,
                eid,
                None,
                {
                    "id": eid,
                    "organization_id": self.org_id,
                    "format": "csv",
                    "status": "created",
                    "n_objects": None,
                    **self._stamp(t, user),
                },
            )
            self.create(obj, t, self.req(user, "POST", f"/api/v1/export/{kind}/"))
            self.update(
                obj,
                t + 300,
                self.req(None, "PUT", f"/api/v1/export/{eid}/"),
                {"status": "in_progress"},
            )
            done = t + rng.randint(5, 120) * MS_SECOND
            self.update(
                obj,
                done,
                self.req(None, "PUT", f"/api/v1/export/{eid}/"),
                {"status": "done", "n_objects": rng.randint(20, 400)},
                "completed",
            )

    def _imports(self) -> None:
        """Two CSV imports by the system worker; the second is reverted (its leads deleted)."""
        rng = self.rng
        admin = self.admin_user
        for number, (day, size, revert) in enumerate(((5, 12, False), (18, 6, True))):
            t = self.start_ms + day * MS_DAY + rng.randint(0, MS_DAY // 2)
            iid = self.new_id("imp_")
            imp = Obj(
                "import",
                iid,
                None,
                {
                    "id": iid,
                    "organization_id": self.org_id,
                    "file_name": f"leads-{number + 1}.csv",
                    "status": "created",
                    "n_leads": size,
                    **self._stamp(t, admin),
                },
            )
            path = f"/api/v1/import/{iid}/"
            self.create(imp, t, self.req(admin, "POST", "/api/v1/import/"))
            t += 2 * MS_SECOND
            self.update(imp, t, self.req(None, "PUT", path), {"status": "in_progress"})
            imported: list[LeadSim] = []
            for batch in range(0, size, 6):
                t += rng.randint(300, 1500)
                batch_req = self.req(None, "POST", "/api/v1/lead/", import_id=iid)
                for _ in range(min(6, size - batch)):
                    imported.append(self.lead_creation(t, None, batch_req))
            t += 1500
            self.update(imp, t, self.req(None, "PUT", path), {"status": "done"}, "completed")
            if not revert:
                for sim in imported:
                    self.run_lead(sim, t + MS_HOUR, self.now_ms, rng.randint(3, 10), [], None)
                continue
            t += rng.randint(20, 90) * MS_MINUTE
            self.update(imp, t, self.req(admin, "PUT", path), {"status": "reverting"}, "reverting")
            revert_req = self.req(None, "DELETE", "/api/v1/lead/", revert_import_id=iid)
            t += 3 * MS_SECOND
            for sim in imported:
                self.delete_lead(sim, t, revert_req)
            t += 700
            self.update(imp, t, self.req(None, "PUT", path), {"status": "reverted"}, "reverted")

    # ------------------------------------------------------------------ live mode

    def live_step(self, slot: int) -> list[Rec]:
        """Activity during one second of live mode (``slot`` = epoch second).

        Deterministic per (seed, slot), whatever the order the clock is read in. Returns
        the new records; callers decide when each becomes visible (``visible_ms``).
        """
        self.rng = random.Random(self.seed * 1_000_003 + slot)
        rng = self.rng
        before = len(self.recs)
        ms = slot * 1000 + rng.randint(0, 999)
        self.horizon = ms + 30 * MS_MINUTE
        self.allow_consolidation = False
        try:
            if rng.random() < 0.02:
                user = self.active_user(ms, rng.choice(self.user_ids[1:]))
                self.lead_creation(ms, user)
            elif rng.random() < 0.3:
                alive = [s for s in self.lead_sims.values() if not s.deleted]
                if alive:
                    sim = alive[int(rng.random() * len(alive))]
                    kinds = [name for name, _ in self._ACTIONS]
                    weights = [w for _, w in self._ACTIONS]
                    kind = rng.choices(kinds, weights)[0]
                    getattr(self, "act_" + kind)(sim, ms)
        finally:
            self.allow_consolidation = True
            self.horizon = self.now_ms
        new = self.recs[before:]
        for rec in new:
            if rng.random() < 0.12:
                rec.visible_ms = rec.ms + rng.randint(5, 120) * MS_SECOND
        return new


def build_org(seed: int, now: datetime, n_users: int = 8, n_leads: int = 240) -> OrgSim:
    sim = OrgSim(seed, now, n_users=n_users, n_leads=n_leads)
    sim.build()
    return sim
