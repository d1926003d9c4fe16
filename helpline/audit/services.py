"""The one way every change (and every look at a person's record) is audited."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..extensions import db

if TYPE_CHECKING:  # audit sits below auth (auth audits sign-ins); types only
    from ..auth.models import User
from .models import AuditEntry


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def record(
    actor: User | None,
    action: str,
    record_type: str,
    record_id: Any,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    reason: str | None = None,
    ip: str | None = None,
) -> list[AuditEntry]:
    """Add audit entries (one per changed field, or one for the action); never commits."""
    actor_id = actor.id if actor is not None and getattr(actor, "id", None) else None
    base = dict(actor_id=actor_id, action=action, record_type=record_type,
                record_id=str(record_id), reason=reason, ip=ip)
    entries: list[AuditEntry] = []
    for field, (before, after) in (changes or {}).items():
        if _text(before) == _text(after):
            continue
        entries.append(AuditEntry(**base, field=field, before=_text(before), after=_text(after)))
    if not entries:
        entries.append(AuditEntry(**base))
    db.session.add_all(entries)
    return entries


def diff(obj: Any, new_values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Apply new_values to obj and return {field: (before, after)} for what changed."""
    changes: dict[str, tuple[Any, Any]] = {}
    for field, value in new_values.items():
        before = getattr(obj, field)
        if before != value:
            changes[field] = (before, value)
            setattr(obj, field, value)
    return changes


def viewed(actor: User, record_type: str, record_id: Any, ip: str | None = None) -> None:
    """Log that actor opened a person's record ("who looked at this record")."""
    record(actor, "view", record_type, record_id, ip=ip)


def viewed_list(actor: User, record_type: str, record_ids: Iterable[Any],
                ip: str | None = None) -> None:
    """Log that actor was shown a list of people's records: one entry naming them all."""
    ids = ", ".join(str(i) for i in dict.fromkeys(record_ids))
    if ids:  # an empty list showed nobody
        record(actor, "view", record_type, "list", changes={"Shown": (None, ids)}, ip=ip)
