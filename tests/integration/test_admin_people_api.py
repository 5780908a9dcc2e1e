"""What the people administration screen added to the users service, through the API that shares
it: the list filtered by permission group, system accounts and locked accounts; unlocking an
account (audited, scoped); a custom role's inherited system role read back."""

from __future__ import annotations

import psycopg

from core.db import normalize_url
from core.models.access import RoleCreate
from core.services import access
from core.services.actor import Actor
from tests.conftest import login


async def _usernames(client, headers, **params) -> set[str]:
    answer = await client.get("/api/v1/users", headers=headers, params={"per_page": 200, **params})
    assert answer.status_code == 200, answer.text
    return {u["username"] for u in answer.json()["items"]}


async def test_users_are_filtered_by_group_kind_and_lock(client, database_url) -> None:
    # given a system account and a locked officer
    admin = await login(client, "admin")
    groups = {g["code"]: g["id"] for g in (await client.get("/api/v1/groups", headers=admin)).json()}
    made = await client.post("/api/v1/users", headers=admin, json={
        "username": "ketnoi.cong", "password": "Ket-Noi-2026!", "full_name": "Cổng dịch vụ công", "is_system": True,
        "group_ids": [groups["APIKN"]]})
    assert made.status_code == 201, made.text
    with psycopg.connect(normalize_url(database_url).replace("+psycopg", "")) as conn:
        conn.execute("UPDATE app_user SET failed_logins = 10, locked_until = now() + interval '15 minutes' "
                     "WHERE username = 'cv.tranbien'")
        conn.execute("UPDATE app_user SET locked_until = now() - interval '1 minute' WHERE username = 'cv.moitruong'")
    # then each filter finds exactly its accounts
    assert await _usernames(client, admin, group_id=groups["DPV"]) == {"dieuphoi"}
    assert await _usernames(client, admin, is_system=True) == {"ketnoi.cong"}
    assert "ketnoi.cong" not in await _usernames(client, admin, is_system=False)
    assert await _usernames(client, admin, locked=True) == {"cv.tranbien"}  # a lock that ran out is no lock
    assert "cv.tranbien" not in await _usernames(client, admin, locked=False)
    assert await _usernames(client, admin, group_id=groups["CVXL"], locked=True) == {"cv.tranbien"}


async def test_unlocking_an_account_lets_it_sign_in_and_is_audited(client, database_url) -> None:
    admin = await login(client, "admin")
    with psycopg.connect(normalize_url(database_url).replace("+psycopg", "")) as conn:
        conn.execute("UPDATE app_user SET failed_logins = 10, locked_until = now() + interval '15 minutes' "
                     "WHERE username = 'cv.tranbien'")
    locked = await client.post("/api/v1/auth/token", data={"username": "cv.tranbien", "password": "Hotline@1022"})
    assert locked.status_code == 423
    user_id = next(u["id"] for u in (await client.get("/api/v1/users", headers=admin, params={"q": "cv.tranbien"})).json()["items"])
    # a unit manager may read their unit's users but not unlock them
    manager = await login(client, "ld.tranbien")
    assert (await client.post(f"/api/v1/users/{user_id}/unlock", headers=manager)).status_code == 403
    unlocked = await client.post(f"/api/v1/users/{user_id}/unlock", headers=admin)
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    assert (await client.post("/api/v1/auth/token", data={"username": "cv.tranbien", "password": "Hotline@1022"})).status_code == 200
    audit = (await client.get("/api/v1/audit", headers=admin, params={"entity": "user", "entity_id": str(user_id)})).json()
    entry = next(e for e in audit["items"] if e["action"] == "unlock")
    assert entry["before"]["failed_logins"] == 10 and entry["after"]["failed_logins"] == 0
    assert (await client.post("/api/v1/users/2147483647/unlock", headers=admin)).status_code == 404


async def test_a_custom_roles_inherited_system_role_is_read_back(app) -> None:
    services = app.state.services  # type: ignore[attr-defined]
    actor = Actor(user_id=None, username="test", roles=frozenset({"admin"}))
    async with services.sessions() as session:
        await access.create_role(session, actor, RoleCreate(code="TRA_CUU", name="Tra cứu", inherits="officer"))
        await access.create_role(session, actor, RoleCreate(code="CHI_MENU", name="Chỉ menu"))
        await session.commit()
        assert await access.inherited_role(session, "TRA_CUU") == "officer"
        assert await access.inherited_role(session, "CHI_MENU") is None
        assert await access.inherited_role(session, "officer") is None
