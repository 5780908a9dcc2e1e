"""CSV import of fields (CRM-21) against a real database: the file's checks (type, size,
encoding, header), each row checked on its own with its spreadsheet row number, parents before
children, codes already in the system updated (audited), duplicates and unknown parents refused,
and the whole import one transaction run by the page's job with its progress."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import col, select

from core.db import make_async_engine, make_sessionmaker, unit_of_work
from core.errors import InUse
from core.i18n import register_catalog_dir, translate
from core.models import AuditLog, TicketField
from core.seed.fields_catalog import iter_fields
from core.services import catalog, field_import
from core.services.actor import system_actor
from core.services.field_icons import icon_examples, is_known_icon
from core.services.field_import import CsvRefused, Outcome, ParsedFile, Problem, read_csv
from ui.i18n import LOCALE_DIR
from ui.pages.admin_fields_import import ImportJobs

HEADER = "code,name,parent_code,description,icon,sla_hours\n"
GOOD = HEADER + ("CN,Cấp nước,,Cấp nước sinh hoạt,droplet,72\n"
                 "CN.MAT,Mất nước,CN,Mất nước kéo dài,droplet-half,24\n"
                 'CN.DUC,"Nước đục, có mùi",CN,,water,\n')


@pytest.fixture
async def sessions(database_url):  # noqa: ANN001, ANN201
    engine = make_async_engine(database_url, pool_size=2, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def run_import(sessions, data: bytes, filename: str = "linh-vuc.csv") -> tuple[Outcome, list[Problem]]:  # noqa: ANN001
    parsed = read_csv(data, filename)
    async with unit_of_work(sessions) as session:
        plan = await field_import.make_plan(session, parsed)
        outcome = await field_import.apply_plan(session, system_actor("test"), plan)
    return outcome, plan.problems


async def fields_by_code(sessions, prefix: str) -> dict[str, TicketField]:  # noqa: ANN001
    async with sessions() as session:
        rows = (await session.exec(select(TicketField).where(col(TicketField.code).startswith(prefix)))).all()
    return {f.code: f for f in rows}


def vietnamese(problem: Problem) -> str:
    register_catalog_dir(LOCALE_DIR)  # as the web app does: the import's messages are in the UI's catalogue
    text = translate(problem.message, "vi", **problem.params)
    assert text != problem.message.format(**problem.params), f"no Vietnamese for {problem.message!r}"
    return text


# ---- good files ----


async def test_a_good_file_creates_parents_and_children_with_their_sla(sessions) -> None:  # noqa: ANN001
    outcome, problems = await run_import(sessions, GOOD.encode())
    assert problems == [] and len(outcome.created) == 3 and outcome.updated == []
    fields = await fields_by_code(sessions, "CN")
    parent = fields["CN"]
    assert (parent.parent_id, parent.sla_hours, parent.icon, parent.description) == (None, 72, "droplet", "Cấp nước sinh hoạt")
    assert fields["CN.MAT"].parent_id == parent.id and fields["CN.MAT"].path.startswith(parent.path)
    assert (fields["CN.DUC"].name, fields["CN.DUC"].sla_hours) == ("Nước đục, có mùi", None)  # quoted comma; SLA inherited
    async with sessions() as session:  # each field created through the catalog service: audited
        logged = (await session.exec(select(AuditLog).where(AuditLog.entity == "ticket_field",
                                                            col(AuditLog.entity_id).in_([str(i) for i in outcome.created])))).all()
    assert sorted(entry.action for entry in logged) == ["create"] * 3


async def test_a_byte_order_mark_and_excel_semicolons_are_read(sessions) -> None:  # noqa: ANN001
    excel = ("\ufeffCode;Name;Parent_code;Description;Icon;SLA_hours;office_hours\r\n"
             "ZCX;Cây xanh;;;tree;48;1\r\n"
             "ZCX.DO;Cây đổ;ZCX;Cây đổ chắn đường;;8;\r\n"
             ";;;;;;\r\n")  # Excel's empty trailing row
    parsed = read_csv(excel.encode("utf-8"))
    assert parsed.delimiter == ";" and parsed.problems == [] and [r.code for r in parsed.rows] == ["ZCX", "ZCX.DO"]
    outcome, problems = await run_import(sessions, excel.encode("utf-8"))
    assert problems == [] and len(outcome.created) == 2
    fields = await fields_by_code(sessions, "ZCX")
    assert fields["ZCX"].name == "Cây xanh" and fields["ZCX"].sla_working_hours is True
    assert fields["ZCX.DO"].sla_working_hours is False and fields["ZCX.DO"].sla_hours == 8


async def test_children_listed_before_their_parent_are_created_after_it(sessions) -> None:  # noqa: ANN001
    text = HEADER + "DT.A.1,Cháu,DT.A,,,\nDT.A,Con,DT,,,\nDT,Cha,,,,\n"
    outcome, problems = await run_import(sessions, text.encode())
    assert problems == [] and len(outcome.created) == 3
    fields = await fields_by_code(sessions, "DT")
    assert fields["DT.A.1"].parent_id == fields["DT.A"].id and fields["DT.A"].parent_id == fields["DT"].id


# ---- bad rows ----


async def test_one_bad_row_is_reported_with_its_row_number_and_the_others_go_in(sessions) -> None:  # noqa: ANN001
    text = HEADER + "BR,Cha,,,,\nBR.1,Sai SLA,BR,,,0\nBR.2,Đúng,BR,,,12\n"
    outcome, problems = await run_import(sessions, text.encode())
    assert [(p.row, vietnamese(p)) for p in problems] == [
        (3, "Thời hạn xử lý phải là số giờ nguyên từ 1 đến 8760 (một năm).")]  # the header is row 1
    assert sorted(await fields_by_code(sessions, "BR")) == ["BR", "BR.2"] and len(outcome.created) == 2


async def test_each_kind_of_bad_row_has_its_vietnamese_reason(sessions) -> None:  # noqa: ANN001
    text = HEADER + ("ZK1,,,,,\n"                 # 2: no name
                     ",Không mã,,,,\n"            # 3: no code
                     "ZK 3,Mã có dấu cách,,,,\n"   # 4: bad code
                     "ZK4,Biểu tượng lạ,,,rocket-x,\n"  # 5: unknown icon
                     "ZK5,SLA chữ,,,,mười\n"       # 6: SLA not a number
                     "ZK6,Quá nhiều ô,,,,,thừa\n"  # 7: more cells than columns
                     "ZK7,Tự làm cha,ZK7,,,\n")     # 8: its own parent
    _outcome, problems = await run_import(sessions, text.encode())
    reasons = {p.row: vietnamese(p) for p in problems}
    assert reasons == {
        2: "Thiếu tên lĩnh vực.", 3: "Thiếu mã lĩnh vực.",
        4: "Mã ZK 3 không hợp lệ: chỉ dùng chữ không dấu, chữ số, dấu '.', '-' hoặc '_' (tối đa 50 ký tự).",
        5: "Biểu tượng rocket-x không có trong bộ biểu tượng.",
        6: "Thời hạn xử lý phải là số giờ nguyên từ 1 đến 8760 (một năm).",
        7: "Dòng này có nhiều ô hơn số cột của dòng tiêu đề.",
        8: "Lĩnh vực không thể là lĩnh vực cha của chính nó.",
    }
    assert await fields_by_code(sessions, "ZK") == {}


async def test_a_code_twice_in_the_file_is_refused_the_second_time(sessions) -> None:  # noqa: ANN001
    text = HEADER + "DUP,Lần đầu,,,,\nDUP,Lần hai,,,,\n"
    outcome, problems = await run_import(sessions, text.encode())
    assert [(p.row, vietnamese(p)) for p in problems] == [(3, "Mã DUP đã có ở dòng 2 của tệp.")]
    assert (await fields_by_code(sessions, "DUP"))["DUP"].name == "Lần đầu" and len(outcome.created) == 1


async def test_a_code_already_in_the_system_updates_that_field_and_audits_its_sla(sessions) -> None:  # noqa: ANN001
    # given the seeded GT.DEN (24 h, under GT)
    before = (await fields_by_code(sessions, "GT.DEN"))["GT.DEN"]
    text = HEADER + "GT.DEN,Đèn tín hiệu giao thông,GT,,,12\nGT.VATCAN,Vật cản,MT,,,\n"
    outcome, problems = await run_import(sessions, text.encode())
    # then GT.DEN is renamed and its SLA changed, its blank cells kept; GT.VATCAN is not moved
    after = (await fields_by_code(sessions, "GT.DEN"))["GT.DEN"]
    assert outcome.updated == [before.id] and outcome.created == []
    assert (after.name, after.sla_hours, after.description, after.icon, after.parent_id) == (
        "Đèn tín hiệu giao thông", 12, before.description, before.icon, before.parent_id)
    assert [(p.row, vietnamese(p)) for p in problems] == [
        (3, "Lĩnh vực GT.VATCAN đã có và thuộc GT: việc nhập không chuyển lĩnh vực sang lĩnh vực cha khác.")]
    async with sessions() as session:
        change = (await session.exec(select(AuditLog).where(AuditLog.entity == "ticket_field",
                                                            AuditLog.entity_id == str(before.id)))).one()
    assert change.action == "sla.update" and (change.before["sla_hours"], change.after["sla_hours"]) == (24, 12)


async def test_an_unchanged_row_changes_nothing(sessions) -> None:  # noqa: ANN001
    current = (await fields_by_code(sessions, "MT"))["MT"]
    outcome, problems = await run_import(sessions, (HEADER + f"MT,{current.name},,,,\n").encode())
    assert (outcome.created, outcome.updated, outcome.unchanged, problems) == ([], [], 1, [])


async def test_an_unknown_parent_refuses_the_row_and_its_children(sessions) -> None:  # noqa: ANN001
    text = HEADER + ("UP,Không có cha,KHONG.CO,,,\n"   # 2: unknown parent
                     "UP.1,Con của dòng bị từ chối,UP,,,\n"  # 3: its parent row was refused
                     "LA,Vòng A,LB,,,\nLB,Vòng B,LA,,,\n"   # 4, 5: a loop
                     "BX,Cha sai SLA,,,,abc\nBX.1,Con,BX,,,\n")  # 6: bad parent row, 7: its child
    outcome, problems = await run_import(sessions, text.encode())
    reasons = {p.row: vietnamese(p) for p in problems}
    assert reasons[2] == "Mã lĩnh vực cha KHONG.CO không có trong hệ thống và cũng không có trong tệp."
    assert reasons[3] == "Lĩnh vực cha UP (dòng 2) bị từ chối nên dòng này cũng bị từ chối."
    assert "quay vòng" in reasons[4] + reasons[5] and {4, 5} <= set(reasons)
    assert reasons[7] == "Lĩnh vực cha BX (dòng 6) bị từ chối nên dòng này cũng bị từ chối."
    assert outcome.created == [] and sorted(reasons) == [2, 3, 4, 5, 6, 7]


# ---- whole-file checks ----


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"code,name\n" + b"A,b\n" * 200_000, "lon.csv", "Tệp quá lớn: tối đa 512 KB."),
    (b"PK\x03\x04" + bytes(200), "linh-vuc.xlsx", "Đây là tệp Excel, không phải tệp CSV: trong Excel hãy chọn Lưu thành, CSV UTF-8."),
    (b"%PDF-1.7\n" + bytes(range(256)), "linh-vuc.pdf", "Chỉ nhập được tệp CSV (.csv)."),
    (b"code,name\nA,\x00\x01\x02", "linh-vuc.csv", "Đây không phải tệp văn bản: chỉ nhập được tệp CSV (.csv)."),
    ("code,name\nGT,Giao thông\n".encode("cp1258"), "ansi.csv",
     "Tệp không phải văn bản UTF-8: trong Excel hãy chọn Lưu thành, CSV UTF-8."),
    (b"ma,ten\nA,B\n", "linh-vuc.csv", "Không có cột ma: các cột hợp lệ là code, name, parent_code, description, icon, "
                                        "sla_hours, office_hours."),
    (b"code,description\nA,B\n", "linh-vuc.csv",
     "Dòng tiêu đề phải có tên các cột code, name, parent_code, description, icon, sla_hours."),
    (b"code,name\n", "linh-vuc.csv", "Tệp chỉ có dòng tiêu đề, không có lĩnh vực nào."),
    (b"", "linh-vuc.csv", "Tệp không có nội dung."),
    (b'code,name\nA,"unterminated\n', "linh-vuc.csv", "Tệp CSV không hợp lệ gần dòng 2: hãy kiểm tra các dấu ngoặc kép."),
])
def test_a_file_that_cannot_be_imported_is_refused_as_a_whole(data: bytes, filename: str, message: str) -> None:
    register_catalog_dir(LOCALE_DIR)
    with pytest.raises(CsvRefused) as refused:
        read_csv(data, filename)
    assert translate(refused.value.message, "vi", **refused.value.params) == message
    assert refused.value.status_code == 422


def test_too_many_rows_are_refused() -> None:
    text = "code,name\n" + "".join(f"R{i},Tên {i}\n" for i in range(field_import.MAX_ROWS + 1))
    with pytest.raises(CsvRefused) as refused:
        read_csv(text.encode())
    assert refused.value.params == {"limit": field_import.MAX_ROWS}


def test_the_sample_file_imports_cleanly() -> None:
    parsed = read_csv(field_import.sample_csv().encode())
    assert parsed.problems == [] and [r.parent_code for r in parsed.rows] == [None, "CAPNUOC", "CAPNUOC"]


# ---- the page's job: progress and one transaction ----


async def test_the_job_reports_progress_and_finishes(sessions) -> None:  # noqa: ANN001
    jobs, seen = ImportJobs(), []
    parsed = read_csv((HEADER + "".join(f"PG{i},Lĩnh vực {i},,,,\n" for i in range(25))).encode())
    job = jobs.start(SimpleNamespace(sessions=sessions), system_actor("test"), parsed, "tien-do.csv", None)  # type: ignore[arg-type]
    original = job.advance
    job.advance = lambda done: (seen.append(done), original(done))  # type: ignore[method-assign]
    assert job.running and job.percent == 0
    await asyncio.wait_for(job.task, 30)  # type: ignore[arg-type]
    assert (job.state, job.total, job.done, job.percent) == ("done", 25, 25, 100)
    assert seen == list(range(1, 26)) and len(job.outcome.created) == 25  # type: ignore[union-attr]
    assert jobs.get(job.id, None) is job and jobs.get(job.id, 12345) is None  # only its owner sees it


async def test_a_database_refusal_mid_import_leaves_nothing_imported(sessions, monkeypatch) -> None:  # noqa: ANN001
    # given the database refusing the third field (as a concurrent change could make it do)
    real, calls = catalog.create_field, []

    async def refusing(session, actor, data):  # noqa: ANN001, ANN202
        calls.append(data.code)
        if len(calls) == 3:
            raise InUse("Field")
        return await real(session, actor, data)

    monkeypatch.setattr(catalog, "create_field", refusing)
    jobs = ImportJobs()
    parsed: ParsedFile = read_csv((HEADER + "TX,Cha,,,,\nTX.1,Con 1,TX,,,\nTX.2,Con 2,TX,,,\n").encode())
    job = jobs.start(SimpleNamespace(sessions=sessions), system_actor("test"), parsed, "giao-dich.csv", None)  # type: ignore[arg-type]
    await asyncio.wait_for(job.task, 30)  # type: ignore[arg-type]
    # then the job says it stopped and the two fields created before are rolled back
    assert job.state == "failed" and job.outcome is None and job.error == InUse.message
    assert await fields_by_code(sessions, "TX") == {}


def test_every_icon_offered_is_drawn_by_the_sprite() -> None:
    """The form and the import accept the names of core.services.field_icons; the page draws
    them from the vendored sprite: a name missing there would show nothing."""
    sprite = (Path(__file__).resolve().parents[2] / "ui/static/vendor/bootstrap-icons/fields.svg").read_text()
    symbols = set(re.findall(r'<symbol id="([a-z0-9-]+)"', sprite))
    assert set(icon_examples()) <= symbols
    assert all(is_known_icon(seed.icon) for seed, _parent in iter_fields())  # every catalogue field keeps its icon
