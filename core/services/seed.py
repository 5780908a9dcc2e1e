"""Seeding: system data every database needs (roles, menus, policies, groups, areas, fields)
and demo data (units and users of each role) for `hotline up` on an empty database.

Idempotent: rows are matched by code and only missing ones are added, so an administrator's
later edits are kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import DEFAULT_POLICIES, SystemRole
from core.models import (
    Area,
    AreaLevel,
    CasbinRule,
    GroupRole,
    Menu,
    OrgUnit,
    OrgUnitKind,
    PermissionGroup,
    Role,
    RoleMenu,
    TicketField,
    User,
    UserGroup,
)
from core.models.base import tree_path
from core.security import hash_password
from core.seed.areas import area_seeds
from core.seed.fields_catalog import iter_fields

Progress = Callable[[str, int, int], None]

ROLE_NAMES = {
    SystemRole.admin: ("Quản trị hệ thống", "Toàn quyền quản trị"),
    SystemRole.coordinator: ("Điều phối viên", "Tiếp nhận, điều phối phản ánh tại Tổng đài 1022"),
    SystemRole.agent: ("Điện thoại viên", "Trả lời cuộc gọi, tạo phản ánh"),
    SystemRole.unit_manager: ("Lãnh đạo đơn vị", "Phân công, duyệt kết quả xử lý của đơn vị"),
    SystemRole.officer: ("Chuyên viên xử lý", "Xử lý phản ánh được giao"),
    SystemRole.auditor: ("Kiểm tra, giám sát", "Xem nhật ký và lịch sử xử lý"),
    SystemRole.citizen: ("Công dân", "Gửi và theo dõi phản ánh"),
    SystemRole.api_client: ("Hệ thống kết nối", "Tài khoản API của hệ thống bên ngoài"),
}

# (code, name, url, icon, parent code)
MENUS: tuple[tuple[str, str, str | None, str, str | None], ...] = (
    ("HOME", "Trang chủ", "/", "house", None),
    ("DESK", "Tổng đài 1022", None, "headset", None),
    ("DESK_NEW", "Phản ánh mới", "/desk/new", "inbox", "DESK"),
    ("DESK_SPAM", "Tin rác", "/desk/spam", "trash", "DESK"),
    ("DESK_OUT_OF_AREA", "Ngoài địa bàn", "/desk/out-of-area", "geo", "DESK"),
    ("DESK_PROCESSED", "Đã xử lý", "/desk/processed", "check2-circle", "DESK"),
    ("DESK_RULES", "Tự động điều phối", "/desk/dispatch-rules", "signpost-split", "DESK"),
    ("TICKETS", "Thống kê tin báo", "/tickets", "list-ul", None),
    ("INBOX", "Công việc của tôi", "/inbox", "clipboard-check", None),
    ("CALLS", "Cuộc gọi", "/calls", "telephone", None),
    ("AGENT", "Máy nhánh của tôi", "/agent", "headset", None),
    ("CALLS_MONITOR", "Giám sát tổng đài", "/calls/monitor", "activity", None),
    ("SMS", "Tin nhắn SMS", "/sms", "chat-dots", None),
    ("KB", "Thủ tục hành chính", "/kb", "book", None),
    ("REPORTS", "Báo cáo", "/reports", "bar-chart", None),
    ("ADMIN", "Quản trị", None, "gear", None),
    ("ADMIN_USERS", "Người dùng", "/admin/users", "people", "ADMIN"),
    ("ADMIN_ROLES", "Vai trò và menu", "/admin/roles", "person-badge", "ADMIN"),
    ("ADMIN_GROUPS", "Nhóm quyền", "/admin/groups", "collection", "ADMIN"),
    ("ADMIN_UNITS", "Đơn vị", "/admin/units", "diagram-3", "ADMIN"),
    ("ADMIN_AREAS", "Khu vực", "/admin/areas", "map", "ADMIN"),
    ("ADMIN_FIELDS", "Lĩnh vực", "/admin/fields", "tags", "ADMIN"),
    ("ADMIN_AUDIT", "Nhật ký hệ thống", "/admin/audit", "journal-text", "ADMIN"),
    ("ADMIN_KB", "Cơ sở tri thức", "/admin/kb", "book-half", "ADMIN"),
    ("ADMIN_API_TOKENS", "Khóa API", "/admin/api-tokens", "key", "ADMIN"),
    ("ADMIN_MESSAGE_TEMPLATES", "Mẫu tin nhắn", "/admin/message-templates", "chat-square-text", "ADMIN"),
)

ROLE_MENUS: dict[str, tuple[str, ...]] = {
    SystemRole.admin: tuple(m[0] for m in MENUS),
    SystemRole.coordinator: ("HOME", "DESK_NEW", "DESK_SPAM", "DESK_OUT_OF_AREA", "DESK_PROCESSED", "DESK_RULES", "TICKETS",
                             "INBOX", "CALLS", "AGENT", "CALLS_MONITOR", "SMS", "KB", "REPORTS"),
    SystemRole.agent: ("HOME", "DESK_NEW", "TICKETS", "CALLS", "AGENT", "SMS", "KB"),
    SystemRole.unit_manager: ("HOME", "INBOX", "TICKETS", "REPORTS", "KB"),
    SystemRole.officer: ("HOME", "INBOX", "TICKETS", "KB"),
    SystemRole.auditor: ("HOME", "TICKETS", "CALLS_MONITOR", "REPORTS", "ADMIN_AUDIT"),
    SystemRole.citizen: ("HOME", "KB"),
    SystemRole.api_client: (),
}

# (code, name, roles)
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("QTHT", "Quản trị hệ thống", (SystemRole.admin,)),
    ("DPV", "Điều phối viên Tổng đài 1022", (SystemRole.coordinator, SystemRole.agent)),
    ("DTV", "Điện thoại viên", (SystemRole.agent,)),
    ("LDDV", "Lãnh đạo đơn vị", (SystemRole.unit_manager,)),
    ("CVXL", "Chuyên viên xử lý", (SystemRole.officer,)),
    ("KTGS", "Kiểm tra, giám sát", (SystemRole.auditor,)),
    ("CONGDAN", "Công dân", (SystemRole.citizen,)),
    ("APIKN", "Hệ thống kết nối", (SystemRole.api_client,)),
)

ROOT_UNIT = ("000.00.00.H19", "UBND tỉnh Đồng Nai")


async def _by_code(session: AsyncSession, model: type, code: str) -> object | None:
    return (await session.exec(select(model).where(model.code == code))).first()  # type: ignore[attr-defined]


async def seed_access(session: AsyncSession) -> None:
    roles: dict[str, Role] = {}
    for code, (name, description) in ROLE_NAMES.items():
        role = await _by_code(session, Role, code) or Role(code=code, name=name, description=description, is_system=True)
        session.add(role)
        roles[code] = role  # type: ignore[assignment]
    menus: dict[str, Menu] = {}
    new_menus: set[str] = set()
    for order, (code, name, url, icon, parent) in enumerate(MENUS):
        menu = await _by_code(session, Menu, code)
        if menu is None:
            menu = Menu(code=code, name=name, url=url, icon=icon, sort_order=order,
                        parent_id=menus[parent].id if parent else None)
            session.add(menu)
            await session.flush()
            new_menus.add(code)
        menus[code] = menu  # type: ignore[assignment]
    await session.flush()
    existing_links = set((await session.exec(select(RoleMenu.role_id, RoleMenu.menu_id))).all())
    fresh_roles = {r.id for r in roles.values()} - {rid for rid, _ in existing_links}
    for code, menu_codes in ROLE_MENUS.items():
        # a fresh role gets its whole menu; a role an administrator may have edited gets only
        # the entries this release added (an entry they removed stays removed)
        wanted = menu_codes if roles[code].id in fresh_roles else [m for m in menu_codes if m in new_menus]
        session.add_all([RoleMenu(role_id=roles[code].id, menu_id=menus[m].id) for m in wanted])  # type: ignore[arg-type]
    for code, name, role_codes in GROUPS:
        if await _by_code(session, PermissionGroup, code) is None:
            group = PermissionGroup(code=code, name=name)
            session.add(group)
            await session.flush()
            session.add_all([GroupRole(group_id=group.id, role_id=roles[r].id) for r in role_codes])  # type: ignore[arg-type]
    have = set((await session.exec(select(CasbinRule.v0, CasbinRule.v1, CasbinRule.v2, CasbinRule.v3)
                                   .where(CasbinRule.ptype == "p"))).all())
    session.add_all([CasbinRule(ptype="p", v0=p[0], v1=p[1], v2=p[2], v3=p[3]) for p in DEFAULT_POLICIES
                     if tuple(str(x) for x in p) not in have])
    await session.flush()


async def seed_areas(session: AsyncSession, scheme: str, province_code: str, progress: Progress | None = None) -> int:
    seeds = area_seeds(scheme, province_code)
    existing = {a.code: a for a in (await session.exec(select(Area).where(Area.scheme == scheme))).all()}
    added = 0
    for i, seed in enumerate(seeds):
        if seed.code not in existing:
            parent = existing.get(seed.parent_code) if seed.parent_code else None
            area = Area(code=seed.code, name=seed.name, kind=seed.kind, level=AreaLevel(seed.level), scheme=scheme,
                        parent_id=parent.id if parent else None)
            session.add(area)
            await session.flush()
            area.path = tree_path(parent.path if parent else None, area.id)  # type: ignore[arg-type]
            existing[seed.code] = area
            added += 1
        if progress and (i % 20 == 0 or i == len(seeds) - 1):
            progress("areas", i + 1, len(seeds))
    await session.flush()
    return added


async def seed_fields(session: AsyncSession) -> int:
    existing = {f.code: f for f in (await session.exec(select(TicketField))).all()}
    added = 0
    for order, (seed, parent_code) in enumerate(iter_fields()):
        if seed.code in existing:
            continue
        parent = existing.get(parent_code) if parent_code else None
        field = TicketField(code=seed.code, name=seed.name, description=seed.description, icon=seed.icon,
                            sla_hours=seed.sla_hours, sort_order=order, parent_id=parent.id if parent else None)
        session.add(field)
        await session.flush()
        field.path = tree_path(parent.path if parent else None, field.id)  # type: ignore[arg-type]
        existing[seed.code] = field
        added += 1
    await session.flush()
    return added


async def seed_root_unit(session: AsyncSession) -> OrgUnit:
    root = await _by_code(session, OrgUnit, ROOT_UNIT[0])
    if root is None:
        root = OrgUnit(code=ROOT_UNIT[0], name=ROOT_UNIT[1], kind=OrgUnitKind.organization)
        session.add(root)
        await session.flush()
        root.path = tree_path(None, root.id)  # type: ignore[arg-type]
    return root  # type: ignore[return-value]


async def seed_system(session: AsyncSession, scheme: str = "2025", province_code: str = "75",
                      progress: Progress | None = None) -> None:
    await seed_access(session)
    await seed_root_unit(session)
    await seed_areas(session, scheme, province_code, progress)
    await seed_fields(session)


# ---- demo data ----

DEMO_PASSWORD = "Hotline@1022"

# (code, name, kind, parent code, commune name for the area link)
DEMO_UNITS: tuple[tuple[str, str, OrgUnitKind, str, str | None], ...] = (
    ("TT1022", "Trung tâm Tổng đài 1022", OrgUnitKind.department, ROOT_UNIT[0], None),
    ("SXD", "Sở Xây dựng", OrgUnitKind.department, ROOT_UNIT[0], None),
    ("SXD.QLGT", "Phòng Quản lý giao thông", OrgUnitKind.sub_unit, "SXD", None),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", OrgUnitKind.department, ROOT_UNIT[0], None),
    ("SNNMT.CCBVMT", "Chi cục Bảo vệ môi trường", OrgUnitKind.sub_unit, "SNNMT", None),
    ("CAT", "Công an tỉnh", OrgUnitKind.department, ROOT_UNIT[0], None),
    ("SYT", "Sở Y tế", OrgUnitKind.department, ROOT_UNIT[0], None),
    ("SGDDT", "Sở Giáo dục và Đào tạo", OrgUnitKind.department, ROOT_UNIT[0], None),
    ("P.TRANBIEN", "UBND phường Trấn Biên", OrgUnitKind.commune, ROOT_UNIT[0], "Phường Trấn Biên"),
    ("P.BIENHOA", "UBND phường Biên Hòa", OrgUnitKind.commune, ROOT_UNIT[0], "Phường Biên Hòa"),
    ("P.LONGBINH", "UBND phường Long Bình", OrgUnitKind.commune, ROOT_UNIT[0], "Phường Long Bình"),
    ("P.TAMHIEP", "UBND phường Tam Hiệp", OrgUnitKind.commune, ROOT_UNIT[0], "Phường Tam Hiệp"),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    unit: str
    group: str
    phone: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Quản trị hệ thống", ROOT_UNIT[0], "QTHT", "0900000001"),
    DemoUser("dieuphoi", "Nguyễn Thị Điều Phối", "TT1022", "DPV", "0900000002"),
    DemoUser("dienthoai", "Trần Văn Trực", "TT1022", "DTV", "0900000003"),
    DemoUser("ld.sxd", "Lê Văn Xây", "SXD", "LDDV", "0900000004"),
    DemoUser("cv.giaothong", "Phạm Thị Giao", "SXD.QLGT", "CVXL", "0900000005"),
    DemoUser("ld.moitruong", "Võ Văn Môi", "SNNMT", "LDDV", "0900000006"),
    DemoUser("cv.moitruong", "Đặng Thị Trường", "SNNMT.CCBVMT", "CVXL", "0900000007"),
    DemoUser("ld.tranbien", "Huỳnh Văn Biên", "P.TRANBIEN", "LDDV", "0900000008"),
    DemoUser("cv.tranbien", "Bùi Thị Trấn", "P.TRANBIEN", "CVXL", "0900000009"),
    DemoUser("kiemtra", "Đỗ Văn Kiểm", ROOT_UNIT[0], "KTGS", "0900000010"),
)


async def seed_demo(session: AsyncSession) -> list[DemoUser]:
    """Demo units and one user per role. Only for an empty user table (first `hotline up`)."""
    if (await session.exec(select(User).limit(1))).first() is not None:
        return []
    units: dict[str, OrgUnit] = {ROOT_UNIT[0]: await seed_root_unit(session)}
    communes = {a.name: a for a in (await session.exec(select(Area).where(Area.level == AreaLevel.commune))).all()}
    for code, name, kind, parent_code, commune in DEMO_UNITS:
        unit = await _by_code(session, OrgUnit, code)
        if unit is None:
            parent = units[parent_code]
            area = communes.get(commune) if commune else None
            unit = OrgUnit(code=code, name=name, kind=kind, parent_id=parent.id, area_id=area.id if area else None)
            session.add(unit)
            await session.flush()
            unit.path = tree_path(parent.path, unit.id)  # type: ignore[arg-type]
        units[code] = unit  # type: ignore[assignment]
    groups = {g.code: g for g in (await session.exec(select(PermissionGroup))).all()}
    password_hash = hash_password(DEMO_PASSWORD)
    for demo in DEMO_USERS:
        user = User(username=demo.username, full_name=demo.full_name, unit_id=units[demo.unit].id, phone=demo.phone,
                    email=f"{demo.username}@hotline1022.dongnai.gov.vn", password_hash=password_hash)
        session.add(user)
        await session.flush()
        session.add(UserGroup(user_id=user.id, group_id=groups[demo.group].id))  # type: ignore[arg-type]
    managers = {"SXD": "ld.sxd", "SNNMT": "ld.moitruong", "P.TRANBIEN": "ld.tranbien"}
    by_name = {u.username: u for u in (await session.exec(select(User))).all()}
    for unit_code, username in managers.items():
        units[unit_code].manager_id = by_name[username].id
        session.add(units[unit_code])
    await session.flush()
    await seed_call_center_demo(session, [by_name["dieuphoi"].id, by_name["dienthoai"].id])  # type: ignore[list-item]
    return list(DEMO_USERS)


async def seed_call_center_demo(session: AsyncSession, agent_ids: list[int]) -> None:
    """The 1022 number's routing for the demo (issue 7): a 24/7 desk (OPS-04) whose calls go to
    the `hotline` queue of the desk's operators, an IVR menu to try, overflow to a message after
    five minutes of waiting. A province sets its own through the configuration screens."""
    from core.models.calls import CallQueueConfig, CallQueueMember, InboundRoute, IvrMenu

    if await session.get(CallQueueConfig, "hotline") is not None:
        return
    session.add(CallQueueConfig(name="hotline", title="Tổng đài 1022", strategy="leastrecent", ring_timeout_s=20,
                                retry_s=3, max_wait_s=300, overflow="message", wrapup_s=10,
                                announce_position_every_s=60, service_level_s=20, record=True))
    await session.flush()
    session.add_all([CallQueueMember(queue="hotline", user_id=uid, penalty=0) for uid in agent_ids])
    session.add(IvrMenu(name="main", greeting="sound:hotline/welcome",
                        options={"1": "queue:hotline", "2": "queue:hotline", "0": "queue:hotline"},
                        timeout_s=5, max_tries=3, timeout_destination="queue:hotline",
                        invalid_announcement="sound:hotline/invalid"))
    session.add_all([InboundRoute(dialed="1022", open_destination="queue:hotline", closed_destination="message",
                                  closed_announcement="sound:hotline/closed"),
                     InboundRoute(dialed="*", open_destination="queue:hotline", closed_destination="message")])
    await session.flush()
