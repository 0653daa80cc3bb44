"""Who may write what: the rules R1-R6 of x-rbac and x-owner-only, over the generated
`server/permissions.json` (docs/backend.md#roles-on-the-server).

The roles, field groups, owner-only fields and create/delete lists are data from the spec, read
from that file; nothing about todos is written here. This is a line-by-line transcription of
`permission-rules.ts` (the client's hooks and `sync-patterns/server` run that file), with the
same reasons and messages; test/tenancy/fastapi-permissions.test.ts compares the two on every
role x operation x field of a table of rules.

 R1 No role (no membership for the row's scope value): no write at all.
 R2 A role not in role_permissions, or with no field group, is read-only.
 R3 create needs a role in `create`, delete a role in `delete`.
 R4 Each field written needs: not x-owner-only, or the owner role; and, when the field is in field
    groups, one of them among the role's groups (a field in no group: every writing role).
 R5 The fields written: an update's changed fields; a create's fields with a value (not null),
    except the key and the scope column.
 R6 An update that changes the scope column moves the row: the role at the new scope value must
    allow create there, besides the role at the old one allowing the update.
"""

import json
from typing import Any, Dict, List, Optional

Rules = Dict[str, Any]
# A refusal: entity, op, field, role, reason, message (the 403's extension members and detail).
Refusal = Dict[str, Any]
NOT_MOVED = object()


def load(path) -> Dict[str, Any]:
    """permissions.json: {"entities": {table: rules}, "unprotected": [table, ...]}."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {"entities": data.get("entities", {}), "unprotected": data.get("unprotected", [])}


def writes(r: Rules, role: Optional[str]) -> bool:
    return role is not None and len(r["edit"].get(role, [])) > 0


def can_edit_field(r: Rules, field: str, role: Optional[str]) -> bool:
    """Whether `role` may edit `field` (R2, R4)."""
    if not writes(r, role):
        return False
    if field in r["ownerOnly"] and role != r["ownerRole"]:
        return False
    containing = [g for g, fields in r["groups"].items() if field in fields]
    return not containing or any(g in r["edit"][role] for g in containing)


def written_fields(r: Rules, op: str, values: Dict[str, Any]) -> List[str]:
    """The fields a write sets (R5)."""
    if op == "delete":
        return []
    out = []
    for f, v in values.items():
        if f in (r["key"], "_sync_status"):
            continue
        if op == "create" and (f == r["scope"] or v is None):
            continue
        out.append(f)
    return out


def refusal_of(r: Rules, op: str, role: Optional[str], values: Dict[str, Any], target_role: Any = NOT_MOVED) -> Optional[Refusal]:
    """None when `role` may make the write, else the refusal. `target_role`: for an update that
    changes the scope column, the caller's role at the new scope value (R6)."""

    def refuse(reason: str, field: Optional[str], message: str) -> Refusal:
        return {"entity": r["entity"], "op": op, "field": field, "role": role, "reason": reason, "message": message}

    if not writes(r, role):
        who = "You have no role" if role is None else f'The role "{role}" is read-only'
        verb = "edit" if op == "update" else op
        return refuse("no-role" if role is None else "read-only", None, f"{who} on this {r['entity']}: it may not {verb} it.")
    if op in ("create", "delete") and role not in r[op]:
        return refuse("op", None, f'The role "{role}" may not {op} a {r["entity"]} (x-rbac.{op}: {", ".join(r[op]) or "none"}).')
    for field in written_fields(r, op, values):
        if can_edit_field(r, field, role):
            continue
        if field in r["ownerOnly"] and role != r["ownerRole"]:
            return refuse("owner-only", field, f'The role "{role}" may not set {r["entity"]}.{field}: only the {r["ownerRole"]} may (x-owner-only).')
        return refuse("field-group", field, f'The role "{role}" may not set {r["entity"]}.{field}: it is outside the role\'s field groups ({", ".join(r["edit"][role])}).')
    if op == "update" and r["scope"] is not None and r["scope"] in values and target_role is not NOT_MOVED:
        there = refusal_of(r, "create", target_role, {})
        if there:
            value = json.dumps(values[r["scope"]], separators=(",", ":"), ensure_ascii=False)
            return refuse("move", r["scope"], f"This {r['entity']} may not move to {r['scope']} {value}: {there['message']}")
    return None


def find_refusal(permissions: Dict[str, Any], table: str, op: str, row: Dict[str, Any], values: Dict[str, Any], role_of) -> Optional[Refusal]:
    """The refusal of a write, or None (as `findRefusal` of sync-patterns/server). `row`: the stored
    row (update, delete) or the row to insert with the scope value the server sets (create);
    `values`: the request's fields; `role_of(scope_value)`: the caller's role there, or None."""
    r = permissions["entities"].get(table)
    if r is None:
        if table in permissions["unprotected"]:
            return None
        raise KeyError(f"permissions.json has no entity {json.dumps(table)}")
    scope = r["scope"]
    role = role_of(None if scope is None else row.get(scope))
    moved = op == "update" and scope is not None and scope in values and str(values[scope]) != str(row.get(scope))
    return refusal_of(r, op, role, values, role_of(values[scope]) if moved else NOT_MOVED)


def problem(refusal: Refusal) -> Dict[str, Any]:
    """The 403 problem+json body of a refusal (as `refusalProblem` of sync-patterns/server)."""
    return {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": refusal["message"],
        "entity": refusal["entity"],
        "op": refusal["op"],
        "field": refusal["field"],
        "role": refusal["role"],
        "reason": refusal["reason"],
    }
