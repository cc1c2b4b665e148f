"""Exchanges at the hub: send (一键移送), sign for (签收), read, inbox — the platform's core.

Intake, in one transaction: idempotency → code conversion (sender dialect → standard) →
procedure check against the replayed case state → store case, persons, charges, exchange and
documents → apply the state → audit. A refusal or a bad code raises before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from casebridge.domain.access import Action
from casebridge.domain.agency import Principal
from casebridge.domain.catalog import Catalog, NodeKind
from casebridge.domain.deadlines import WorkCalendar
from casebridge.domain.exchange import ExchangeStatus
from casebridge.domain.procedure import CaseState, Event, Procedure, ProcedureRefused
from casebridge.domain.supervision import SupervisionPolicy
from casebridge.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem, Said
from casebridge.i18n import N_
from casebridge.services import audit
from casebridge.services.access import can, require, require_case, require_exchange
from casebridge.services.conversion import CodeConverter
from casebridge.store.models import Agency, Case, CaseRef, Charge, Document, Exchange, Person
from casebridge.store.models import Receipt as ReceiptRow
from casebridge.store.types import new_id
from casebridge.store.uow import UnitOfWork

__all__ = [
    "InboxItem",
    "ProcedureContext",
    "SendExchange",
    "SendResult",
    "case_events",
    "get_exchange",
    "inbox",
    "send_exchange",
    "sign_for",
]


@dataclass(frozen=True)
class ProcedureContext:
    """What the procedure needs besides the database: wired once by the bootstrap."""

    catalog: Catalog
    calendar: WorkCalendar
    converter: CodeConverter
    policy: SupervisionPolicy = field(default_factory=SupervisionPolicy)

    @property
    def procedure(self) -> Procedure:
        return Procedure(self.catalog)


@dataclass(frozen=True)
class SendExchange:
    node: str
    idempotency_key: str
    payload: dict[str, Any]  # in the sender's dialect: case, persons, documents, fields
    receiver_agency: str | None = None  # id or organisation code; none for facts
    case_id: str | None = None
    in_reply_to: str | None = None
    occurred_on: date | None = None
    dossier_ref: str | None = None

    def request_hash(self) -> str:
        body = {
            "node": self.node,
            "payload": self.payload,
            "receiver": self.receiver_agency,
            "case_id": self.case_id,
            "in_reply_to": self.in_reply_to,
            "occurred_on": self.occurred_on.isoformat() if self.occurred_on else None,
            "dossier_ref": self.dossier_ref,
        }
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SendResult:
    exchange: Exchange
    replayed: bool  # True: the idempotency key was seen before; nothing new was created


def _agency_of(principal: Principal) -> str:
    if principal.agency_id is None or principal.agency_type is None:
        raise PermissionDenied(N_("only a user of an agency can send or receive exchanges"))
    return principal.agency_id


def _resolve_agency(uow: UnitOfWork, ref: str) -> Agency | None:
    return uow.agencies.get(ref) or uow.agencies.by_code(ref)


def case_events(uow: UnitOfWork, case_id: str) -> list[Event]:
    """The accepted history of a case, as the procedure replays it."""
    types: dict[str, str] = {}

    def type_of(agency_id: str) -> str:
        if agency_id not in types:
            agency = uow.agencies.get(agency_id)
            assert agency is not None
            types[agency_id] = agency.type
        return types[agency_id]

    events = []
    for x in uow.exchanges.for_case(case_id):
        fact = x.node_kind == NodeKind.FACT
        assert x.occurred_on is not None
        events.append(
            Event(
                id=x.id,
                node=x.node_code,
                on=x.occurred_on,
                sender_type=type_of(x.sender_agency_id),
                sender_id=x.sender_agency_id,
                receiver_type=None if fact else type_of(x.receiver_agency_id),
                receiver_id=None if fact else x.receiver_agency_id,
                persons=tuple(str(p["key"]) for p in x.payload.get("persons", [])),
                documents=tuple(d.document_type for d in x.documents),
                in_reply_to=x.in_reply_to_id,
                fields=x.payload.get("fields", {}),
            )
        )
    return events


def _check_payload(payload: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    keys: set[str] = set()
    for i, p in enumerate(payload.get("persons") or []):
        key = p.get("key") if isinstance(p, dict) else None
        if not key:
            problems.append(
                Problem(f"payload.persons[{i}].key", Said(N_("every person needs a key")))
            )
        elif key in keys:
            problems.append(
                Problem(f"payload.persons[{i}].key", Said(N_("duplicate person key")), key)
            )
        else:
            keys.add(str(key))
    for i, d in enumerate(payload.get("documents") or []):
        if not isinstance(d, dict) or not d.get("type"):
            problems.append(
                Problem(f"payload.documents[{i}].type", Said(N_("every document needs a type")))
            )
    return problems


def send_exchange(
    uow: UnitOfWork,
    ctx: ProcedureContext,
    principal: Principal,
    cmd: SendExchange,
    *,
    today: date,
    request_id: str | None = None,
) -> SendResult:
    # Access first: a caller who may not act on the case learns nothing, not even that the
    # request is malformed (404, audited).
    if cmd.case_id:
        require_case(uow, principal, cmd.case_id, Action.CASE_WRITE, request_id=request_id)
    else:
        require(uow, principal, Action.CASE_CREATE, request_id=request_id)
    sender_id = _agency_of(principal)
    request_hash = cmd.request_hash()
    existing = uow.exchanges.by_idempotency_key(sender_id, cmd.idempotency_key)
    if existing is not None:
        return _replayed(existing, request_hash, cmd.idempotency_key)
    try:
        with uow.conflicts():
            exchange = _accept(uow, ctx, principal, cmd, request_hash, today, request_id)
            uow.commit()
    except Conflict:
        # A concurrent request with the same key may have won the race: answer with its result.
        existing = uow.exchanges.by_idempotency_key(sender_id, cmd.idempotency_key)
        if existing is None:
            raise
        return _replayed(existing, request_hash, cmd.idempotency_key)
    return SendResult(exchange, replayed=False)


def _replayed(existing: Exchange, request_hash: str, key: str) -> SendResult:
    if existing.request_hash != request_hash:
        raise Conflict(
            N_(
                "idempotency key {key} was already used for a different request "
                "(exchange {exchange_id})"
            ),
            params={"key": repr(key), "exchange_id": existing.id},
        )
    return SendResult(existing, replayed=True)


def _accept(
    uow: UnitOfWork,
    ctx: ProcedureContext,
    principal: Principal,
    cmd: SendExchange,
    request_hash: str,
    today: date,
    request_id: str | None,
) -> Exchange:
    sender_id = _agency_of(principal)
    assert principal.agency_type is not None
    node = ctx.catalog.resolve(cmd.node)
    if node is None:
        raise InvalidInput(
            N_("unknown collaboration node {node}"),
            problems=[Problem("node", Said(N_("unknown node code or Chinese name")), cmd.node)],
            params={"node": repr(cmd.node)},
        )
    # Receiver
    receiver: Agency | None = None
    if node.kind is NodeKind.EXCHANGE:
        if not cmd.receiver_agency:
            raise InvalidInput(
                N_("{node} is sent to an agency"),
                problems=[Problem("receiver_agency", Said(N_("required for an exchange")))],
                params={"node": node.code},
            )
        receiver = _resolve_agency(uow, cmd.receiver_agency)
        if receiver is None:
            raise InvalidInput(
                N_("no agency {agency}"),
                problems=[
                    Problem(
                        "receiver_agency",
                        Said(N_("unknown agency id or code")),
                        cmd.receiver_agency,
                    )
                ],
                params={"agency": repr(cmd.receiver_agency)},
            )
        if receiver.id == sender_id:
            raise InvalidInput(
                N_("an agency cannot send an exchange to itself"),
                problems=[
                    Problem("receiver_agency", Said(N_("same as the sender")), cmd.receiver_agency)
                ],
            )
    if cmd.dossier_ref:
        _check_dossier_ref(uow, principal, cmd.dossier_ref, request_id)
    # Codes: sender's dialect → standard (every problem at once, before anything is written)
    payload, versions = ctx.converter.inbound(principal.agency_type, cmd.payload)
    problems = _check_payload(payload)
    if problems:
        raise InvalidInput(N_("the exchange payload is invalid"), problems=problems)
    # Case and its history
    if cmd.case_id:  # checked again under the row lock: access may have changed meanwhile
        case = require_case(
            uow, principal, cmd.case_id, Action.CASE_WRITE, lock=True, request_id=request_id
        )
        history = case_events(uow, case.id)
    else:
        title = (payload.get("case") or {}).get("title")
        if not title:
            raise InvalidInput(
                N_("a new case needs a title"),
                problems=[
                    Problem("payload.case.title", Said(N_("required when case_id is not given")))
                ],
            )
        case = Case(id=new_id(), title=str(title), stage="")
        history = []
    procedure = ctx.procedure
    state: CaseState = procedure.replay(history)
    occurred_on = cmd.occurred_on or today
    if occurred_on > today:
        raise InvalidInput(
            N_("an exchange cannot happen in the future"),
            problems=[
                Problem(
                    "occurred_on",
                    Said(N_("after today ({today})"), today=today),
                    occurred_on.isoformat(),
                )
            ],
        )
    if history and occurred_on < history[-1].on:
        raise InvalidInput(
            N_("an exchange cannot predate the case's last event"),
            problems=[
                Problem(
                    "occurred_on",
                    Said(N_("before {day}"), day=history[-1].on),
                    occurred_on.isoformat(),
                )
            ],
        )
    exchange_id = new_id()
    event = Event(
        id=exchange_id,
        node=node.code,
        on=occurred_on,
        sender_type=principal.agency_type,
        sender_id=sender_id,
        receiver_type=receiver.type if receiver else None,
        receiver_id=receiver.id if receiver else None,
        persons=tuple(str(p["key"]) for p in payload.get("persons") or []),
        documents=tuple(str(d["type"]) for d in payload.get("documents") or []),
        in_reply_to=cmd.in_reply_to,
        fields=payload.get("fields") or {},
    )
    resolved, refusals = procedure.check(state, event)
    if refusals:
        raise ProcedureRefused(node.code, refusals)
    new_state = procedure.apply(state, resolved)
    # Writes
    if not cmd.case_id:
        uow.cases.add(case)
    case.stage = new_state.stage or case.stage
    case.handler_agency_id = new_state.handler_id
    case.event_count = len(new_state.history)
    ref = (payload.get("case") or {}).get("case_ref")
    if ref:
        _record_case_ref(uow, case.id, sender_id, str(ref))
    for p in payload.get("persons") or []:
        _upsert_person(uow, case.id, p)
    exchange = uow.exchanges.add(
        Exchange(
            id=exchange_id,
            node_code=node.code,
            node_kind=node.kind.value,
            sender_agency_id=sender_id,
            receiver_agency_id=receiver.id if receiver else sender_id,
            case_id=case.id,
            in_reply_to_id=resolved.in_reply_to,
            status=ExchangeStatus.DELIVERED.value,
            payload=payload,
            idempotency_key=cmd.idempotency_key,
            request_hash=request_hash,
            occurred_on=occurred_on,
            dossier_ref=cmd.dossier_ref,
            table_versions=versions,
        )
    )
    for d in payload.get("documents") or []:
        uow.session.add(
            Document(
                exchange_id=exchange.id,
                document_type=str(d["type"]),
                title=str(d.get("title") or d["type"]),
                page_count=int(d.get("pages") or 0),
            )
        )
    uow.access.assign(case.id, sender_id, principal.user_id, None)  # the sender handles it
    if resolved.in_reply_to:
        original = uow.exchanges.get(resolved.in_reply_to)
        if original is not None:
            original.status = ExchangeStatus.REPLIED.value
    audit.record(
        uow,
        "exchange.send",
        "exchange",
        exchange.id,
        actor=principal,
        case_id=case.id,
        request_id=request_id,
        detail={
            "node": node.code,
            "receiver_agency_id": receiver.id if receiver else None,
            "in_reply_to": resolved.in_reply_to,
            "stage": new_state.stage,
        },
    )
    uow.session.flush()
    return exchange


def _check_dossier_ref(
    uow: UnitOfWork, principal: Principal, ref: str, request_id: str | None
) -> None:
    """An exchange may carry only a dossier version its sender can read ("<id>@<root>")."""
    from casebridge.services.dossier_access import require_dossier

    dossier_id, sep, root = ref.rpartition("@")
    problem = Problem("dossier_ref", Said(N_("no such dossier version visible to the sender")), ref)
    if not sep or not dossier_id or not root:
        raise InvalidInput(N_("dossier_ref is DOSSIER_ID@MERKLE_ROOT"), problems=[problem])
    try:
        require_dossier(
            uow, principal, dossier_id, root, Action.DOSSIER_READ, request_id=request_id
        )
    except NotFound:
        raise InvalidInput(
            N_("unknown dossier version {ref}"), problems=[problem], params={"ref": ref}
        ) from None


def _record_case_ref(uow: UnitOfWork, case_id: str, agency_id: str, ref: str) -> None:
    existing = uow.cases.ref(agency_id, ref)
    if existing is None:
        uow.session.add(CaseRef(case_id=case_id, agency_id=agency_id, ref=ref))
    elif existing.case_id != case_id:
        raise InvalidInput(
            N_("case number {ref} of this agency already belongs to another case"),
            problems=[
                Problem("payload.case.case_ref", Said(N_("already used for another case")), ref)
            ],
            params={"ref": repr(ref)},
        )


def _upsert_person(uow: UnitOfWork, case_id: str, p: dict[str, Any]) -> None:
    key = str(p["key"])
    person = uow.cases.person(case_id, key)
    if person is None:
        person = Person(
            case_id=case_id,
            key=key,
            role=str(p.get("role") or "suspect"),
            name=str(p.get("name") or key),
        )
        uow.session.add(person)
    for attr in ("role", "name", "id_type", "id_number", "gender", "ethnicity"):
        if p.get(attr):
            setattr(person, attr, str(p[attr]))
    if p.get("birth_date"):
        try:
            person.birth_date = date.fromisoformat(str(p["birth_date"]))
        except ValueError:
            raise InvalidInput(
                N_("bad birth date"),
                problems=[
                    Problem(
                        f"payload.persons[{key}].birth_date",
                        Said(N_("not YYYY-MM-DD")),
                        str(p["birth_date"]),
                    )
                ],
            ) from None
    uow.session.flush()
    have = {c.crime_code for c in person.charges}
    for c in p.get("charges") or []:
        code = str(c.get("crime") if isinstance(c, dict) else c)
        if code and code not in have:
            person.charges.append(Charge(crime_code=code))
            have.add(code)


def sign_for(
    uow: UnitOfWork, principal: Principal, exchange_id: str, *, request_id: str | None = None
) -> ReceiptRow:
    """签收 by a handler, head or gateway of the receiving agency; the signer is assigned to the
    case. Idempotent: signing twice returns the first receipt."""
    x = uow.exchanges.get(exchange_id)
    if x is None or x.node_kind != NodeKind.EXCHANGE:
        raise NotFound(N_("no exchange {exchange_id}"), params={"exchange_id": exchange_id})
    require_exchange(uow, principal, x, Action.SIGN_FOR, request_id=request_id)
    agency_id = _agency_of(principal)
    uow.access.assign(x.case_id, agency_id, principal.user_id, None)
    existing = uow.exchanges.receipt(x.id, ExchangeStatus.SIGNED_FOR.value)
    if existing is not None:
        return existing
    receipt = uow.exchanges.add_receipt(
        ReceiptRow(
            exchange_id=x.id,
            kind=ExchangeStatus.SIGNED_FOR.value,
            agency_id=agency_id,
            user_id=principal.user_id,
        )
    )
    if x.status == ExchangeStatus.DELIVERED.value:
        x.status = ExchangeStatus.SIGNED_FOR.value
    audit.record(
        uow,
        "exchange.sign_for",
        "exchange",
        x.id,
        actor=principal,
        case_id=x.case_id,
        request_id=request_id,
    )
    uow.commit()
    return receipt


def get_exchange(
    uow: UnitOfWork, principal: Principal, exchange_id: str, *, request_id: str | None = None
) -> Exchange:
    """One exchange, to a user who may read its case and whose agency is a party to it."""
    x = uow.exchanges.get(exchange_id)
    if x is None:
        raise NotFound(N_("no exchange {exchange_id}"), params={"exchange_id": exchange_id})
    require_exchange(uow, principal, x, Action.CASE_READ, request_id=request_id)
    audit.record(
        uow,
        "exchange.read",
        "exchange",
        x.id,
        actor=principal,
        case_id=x.case_id,
        request_id=request_id,
    )
    uow.commit()
    return x


@dataclass(frozen=True)
class InboxItem:
    exchange: Exchange
    readable: bool  # False: the caller sees that it arrived, not its content (not assigned)


def inbox(
    uow: UnitOfWork,
    principal: Principal,
    *,
    status: str | None = None,
    request_id: str | None = None,
) -> list[InboxItem]:
    """Exchanges addressed to the caller's agency. Content only for cases the caller may
    read: an unassigned handler sees that something arrived, signs for it, then reads it."""
    if principal.agency_id is None:
        return []  # platform admins, auditors: no agency, no inbox
    items = [
        InboxItem(x, can(uow, principal, Action.CASE_READ, x.case_id))
        for x in uow.exchanges.inbox(principal.agency_id, status=status)
    ]
    audit.record(
        uow,
        "inbox.read",
        "agency",
        principal.agency_id,
        actor=principal,
        request_id=request_id,
        detail={"exchanges": [i.exchange.id for i in items if i.readable]},
    )
    uow.commit()
    return items
