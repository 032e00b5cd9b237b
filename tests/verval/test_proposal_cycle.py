"""The DTKS proposal cycle on real NATS and both databases: a verified case opens a
proposal, the village drafts it and records its musyawarah desa, the district verifies, the
Bupati or Sekda ratifies the batch, the DTKS admin sends and downloads it; refusals are
explained and audited; a proposal that missed its window moves to next month's."""

import csv
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlmodel import col, select

from services.verval import batches, proposal_service
from services.verval.api import SESSION_COOKIE
from services.verval.app import create_app
from services.verval.models import Proposal
from services.verval.proposals import household_key, month_name, next_month, window_days
from services.verval.settings import Settings
from shared import accounts
from shared.accounts import AuditEntry
from shared.auth import Principal, Role
from shared.contracts import Category
from shared.errors import Refusal
from shared.outbox import OutboxMessage
from slrt.natsserver import NatsServer
from tests.users import PASSWORD_HASH, SignedInClient
from tests.verval.conftest import Verval, load_district, registered_case, registry_engine


def _people(district: Path) -> dict[str, dict[str, str]]:
    """Clean presented people of one desa: not in DTKS (`new`), in DTKS with PBI-JK inactive
    (`lapsed`), not in DTKS with BPJS arrears (`arrears`); each with their KK."""
    with (district / "dtks.csv").open() as handle:
        in_dtks = {r["nik"] for r in csv.DictReader(handle)}
    with (district / "programs.csv").open() as handle:
        programs = list(csv.DictReader(handle))
    lapsed = {r["nik"] for r in programs if r["program"] == "PBI-JK" and r["active"] == "0"}
    owing = {r["nik"] for r in programs if int(r["arrears"]) > 0}
    with (district / "civil.csv").open() as handle:
        kk = {r["nik"]: r["kk"] for r in csv.DictReader(handle)}
    with (district / "presented.csv").open() as handle:
        clean = [r | {"kk": kk[r["nik"]]} for r in csv.DictReader(handle) if not r["defect"]]
    return {
        "new": next(r for r in clean if r["nik"] not in in_dtks | owing | lapsed),
        "lapsed": next(r for r in clean if r["nik"] in in_dtks & lapsed and r["nik"] not in owing),
        "arrears": next(r for r in clean if r["nik"] in owing and r["nik"] not in in_dtks),
    }


class Desk(SignedInClient):
    async def post(self, url: str, who: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(url, headers=await self.auth(who), **kwargs)

    async def get(self, url: str, who: str) -> httpx.Response:
        return await self.client.get(url, headers=await self.auth(who))

    async def page(self, url: str, who: str) -> httpx.Response:
        """A web page, signed in by the session cookie as a browser is."""
        token = (await self.auth(who))["Authorization"].removeprefix("Bearer ")
        self.client.cookies.set(SESSION_COOKIE, token)
        try:
            return await self.client.get(url)
        finally:
            self.client.cookies.clear()

    async def proposal(self, case_id: str) -> Proposal:
        async with self.runtime.sessions() as session:
            query = select(Proposal).where(col(Proposal.case_id) == UUID(case_id))
            return (await session.exec(query)).one()

    async def staged(self, case_id: str, kind: str = "proposal.updated") -> list[dict[str, Any]]:
        async with self.runtime.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.event_type == kind)
            rows = (await session.exec(query.order_by(col(OutboxMessage.id)))).all()
        events = [json.loads(row.payload) for row in rows]
        return [e for e in events if e["case_id"] == case_id]

    async def refusals(self) -> list[AuditEntry]:
        async with self.runtime.sessions() as session:
            query = select(AuditEntry).where(AuditEntry.action == "proposal.refused")
            return list((await session.exec(query)).all())


@pytest.fixture
async def desk(
    provisioned_nats: NatsServer, database_url: str, district: Path, tmp_path: Path
) -> AsyncIterator[tuple[Desk, Verval, dict[str, dict[str, str]]]]:
    load_district(registry_engine(database_url), district)
    people = _people(district)
    desa = people["new"]["desa_code"]
    settings = Settings(
        nats_url=provisioned_nats.url,
        database_url=database_url,
        var_dir=tmp_path,
        log_json=False,
        rollover_check_seconds=0,  # off: the test rolls over with its own clock
        life_event_check_seconds=0,  # off: these tests count the proposals of cases only
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://verval") as client:
            running = Desk(client, app.state.runtime)
            await running.add_users(
                {
                    "koor": (Role.COORDINATOR, desa, None),
                    "kades": (Role.VILLAGE_HEAD, desa, None),
                    "kades-lain": (Role.VILLAGE_HEAD, "33.17.01.2002", None),
                    "koor-2": (Role.COORDINATOR, people["arrears"]["desa_code"], None),
                    "kades-2": (Role.VILLAGE_HEAD, people["arrears"]["desa_code"], None),
                    "dtks": (Role.DTKS_ADMIN, "33.17", None),
                    "sekda": (Role.REGIONAL_SECRETARY, "33.17", None),
                }
            )
            async with running.runtime.sessions() as session:
                for username, role, area in (
                    ("kaur-kerabat", Role.VILLAGE_HEAD, desa),
                    ("bupati", Role.REGENT, "33.17"),
                ):  # both of the new person's own household
                    await accounts.add_user(
                        session=session,
                        areas=running.runtime.areas,
                        username=username,
                        full_name=username,
                        role=role,
                        area_code=area,
                        password_hash=PASSWORD_HASH,
                        household_key=household_key(people["new"]["kk"]),
                    )
                await session.commit()
            yield running, Verval(app.state.runtime, provisioned_nats.url), people


MINUTES = {"minutes": ("berita-acara.pdf", b"%PDF-1.4 berita acara musdes", "application/pdf")}


async def test_a_proposal_goes_from_the_village_to_the_ministry(
    desk: tuple[Desk, Verval, dict[str, dict[str, str]]],
) -> None:
    api, verval, people = desk
    person = people["new"]
    registered = registered_case(person, Category.DTKS_REGISTRATION)
    await verval.verified(registered)
    case_id = str(registered.case_id)
    opened = await api.proposal(case_id)
    assert (opened.status, opened.kind, opened.program, opened.kk) == (
        "perlu_disusun", "tambah", "DTKS", person["kk"]
    )  # fmt: skip
    url = f"/api/proposals/{opened.id}"

    assert (await api.post(f"{url}/actions", "koor", json={"command": "draft"})).status_code == 200
    approve = {
        "data": {"proposal_ids": [str(opened.id)], "held_on": "2026-11-20"},
        "files": MINUTES,
    }
    own = await api.post("/api/musdes", "koor", **approve)
    assert own.status_code == 403 and "dua orang" in own.json()["message"]
    family = await api.post("/api/musdes", "kaur-kerabat", **approve)
    assert family.status_code == 403 and "Konflik kepentingan" in family.json()["message"]
    elsewhere = await api.post("/api/musdes", "kades-lain", **approve)
    assert elsewhere.status_code == 404  # another village's proposal does not exist for them
    no_minutes = await api.post("/api/musdes", "kades", data=approve["data"])
    assert no_minutes.status_code == 422
    unseen = await api.post("/api/musdes", "kades", **approve)
    assert unseen.status_code == 409 and "Kunjungan rumah" in unseen.json()["message"]
    await _visit(api, person["desa_code"])
    approved = await api.post("/api/musdes", "kades", **approve)
    assert approved.status_code == 200, approved.text
    minutes = await api.get(f"{url}/minutes", "dtks")
    assert minutes.content == MINUTES["minutes"][1]

    returned = await api.post(f"{url}/actions", "dtks", json={"command": "return"})
    assert returned.status_code == 422  # a return needs its reason
    verified = await api.post(f"{url}/actions", "dtks", json={"command": "verify"})
    assert verified.json()["status"] == "diverifikasi"

    month = opened.batch_month.strftime("%Y-%m")
    batch = f"/api/batches/{opened.window}/{month}"
    by_bupati = (await api.post(f"{batch}/ratify", "bupati")).json()
    assert by_bupati["done"] == [] and "Konflik kepentingan" in by_bupati["skipped"][str(opened.id)]
    by_sekda = (await api.post(f"{batch}/ratify", "sekda")).json()
    assert by_sekda["done"] == [str(opened.id)]
    assert (await api.post(f"{batch}/ratify", "dtks")).status_code == 403

    refusals = await api.refusals()
    assert {(r.username, r.case_id) for r in refusals} == {
        ("koor", registered.case_id), ("kaur-kerabat", registered.case_id),
        ("kades", registered.case_id), ("bupati", registered.case_id),
    }  # fmt: skip

    await _send(api, opened)
    exported = await api.get(f"{batch}/export", "dtks")
    rows = list(csv.DictReader(exported.text.splitlines()))
    assert [(r["nik"], r["no_kk"], r["disahkan_oleh"]) for r in rows] == [
        (person["nik"], person["kk"], "Sekda (atas delegasi Bupati)")
    ]
    statuses = [e["status"] for e in await api.staged(case_id)]
    assert statuses == [
        "perlu_disusun", "draf", "disetujui_musdes", "diverifikasi", "disahkan", "dikirim"
    ]  # fmt: skip
    assert person["nik"] not in json.dumps(await api.staged(case_id))


async def _visit(api: Desk, desa: str) -> None:
    """The kasun sees the house of the desa's one open visit and finds it as told."""
    await api.add_users({"kasun": (Role.KASUN, desa, None)})
    [task] = (await api.get("/api/visits", "kasun")).json()
    form = {"visited_on": date.today().isoformat(), "verdict": "sesuai", "note": "Sesuai"}
    done = await api.post(f"/api/visits/{task['id']}", "kasun", data=form, files={"photos": PHOTO})
    assert done.status_code == 200, done.text


async def _send(api: Desk, proposal: Proposal) -> None:
    """Send the batch on a day its window is closed (refused), then on its last day."""
    opens, closes = window_days(proposal.window, proposal.batch_month)
    admin = Principal("dtks", Role.DTKS_ADMIN, "33.17")
    async with api.runtime.sessions() as session:
        args = {"session": session, "principal": admin, "key": proposal.window,
                "month": proposal.batch_month, "trace_id": "uji"}  # fmt: skip
        with pytest.raises(Refusal) as refused:
            await batches.send_batch(**args, today=date(opens.year, opens.month, 26))
        assert "terkunci di luar jadwal" in refused.value.message
        sent = await batches.send_batch(**args, today=closes)
    assert [p.id for p in sent.done] == [proposal.id]


async def test_a_reactivation_letter_always_carries_the_id_dtks(
    desk: tuple[Desk, Verval, dict[str, dict[str, str]]], district: Path
) -> None:
    api, verval, people = desk
    lapsed = registered_case(people["lapsed"], Category.PBI_REACTIVATION)
    await verval.verified(lapsed)
    proposal = await api.proposal(str(lapsed.case_id))
    with (district / "dtks.csv").open() as handle:
        id_dtks = next(r for r in csv.DictReader(handle) if r["nik"] == people["lapsed"]["nik"])
    assert (proposal.kind, proposal.window, proposal.id_dtks) == (
        "reaktivasi", "pbi_dtks", id_dtks["id_dtks"]
    )  # fmt: skip
    letter = await api.page(f"/usulan/{proposal.id}/surat", "dtks")
    assert letter.status_code == 200 and id_dtks["id_dtks"] in letter.text

    new = registered_case(people["new"], Category.DTKS_REGISTRATION)
    await verval.verified(new)
    other = await api.proposal(str(new.case_id))
    refused = await api.page(f"/usulan/{other.id}/surat", "dtks")
    assert refused.status_code == 409 and "hanya untuk usulan reaktivasi" in refused.text


async def test_a_verdict_is_read_by_its_own_area_only_and_the_read_is_audited(
    desk: tuple[Desk, Verval, dict[str, dict[str, str]]],
) -> None:
    api, verval, people = desk
    registered = registered_case(people["new"], Category.DTKS_REGISTRATION)
    await verval.verified(registered)
    url = f"/api/verifications/{registered.case_id}"
    assert (await api.client.get(url)).status_code == 401
    assert (await api.get(url, "kades-lain")).status_code == 404
    verdict = await api.get(url, "koor")
    assert verdict.status_code == 200 and verdict.json()["identity_consistent"] is True
    async with api.runtime.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == "verification.read")
        reads = (await session.exec(query)).all()
    assert [(r.username, r.case_id) for r in reads] == [("koor", registered.case_id)]


async def test_unpaid_arrears_stop_a_pbi_proposal_at_the_district(
    desk: tuple[Desk, Verval, dict[str, dict[str, str]]],
) -> None:
    api, verval, people = desk
    owing = registered_case(people["arrears"], Category.PBI_ENROLMENT)
    await verval.verified(owing)
    proposal = await api.proposal(str(owing.case_id))
    assert proposal.window == "pbi_new" and "Tunggakan iuran BPJS" in proposal.blocker
    url = f"/api/proposals/{proposal.id}"
    await api.post(f"{url}/actions", "koor-2", json={"command": "draft"})
    approve = {"data": {"proposal_ids": [str(proposal.id)], "held_on": "2026-11-20"}}
    assert (await api.post("/api/musdes", "kades-2", **approve, files=MINUTES)).status_code == 200
    refused = await api.post(f"{url}/actions", "dtks", json={"command": "verify"})
    assert refused.status_code == 409 and "harus dilunasi" in refused.json()["message"]
    back = await api.post(f"{url}/actions", "dtks", json={"command": "return", "note": "Lunasi"})
    assert back.json()["status"] == "perlu_disusun" and "Lunasi" in back.json()["note"]


async def test_a_proposal_that_missed_its_window_moves_and_the_village_sees_why(
    desk: tuple[Desk, Verval, dict[str, dict[str, str]]],
) -> None:
    api, verval, people = desk
    registered = registered_case(people["new"], Category.DTKS_REGISTRATION)
    await verval.verified(registered)
    before = await api.proposal(str(registered.case_id))
    _, closes = window_days(before.window, before.batch_month)
    district = Principal("dtks", Role.DTKS_ADMIN, "33.17")
    async with api.runtime.sessions() as session:
        two_days_before = date.fromordinal(closes.toordinal() - 2)
        warned = await proposal_service.unfinished_warnings(
            session=session, principal=district, today=two_days_before
        )
        assert list(warned) == [before.desa_code]
        assert (
            f"tutup {closes:%d-%m-%Y}: belum selesai 1 perlu disusun desa"
            in warned[before.desa_code][0]
        )
        day_after = date.fromordinal(closes.toordinal() + 1)
        assert await proposal_service.roll_over_missed(session=session, today=day_after) == 1
        assert await proposal_service.roll_over_missed(session=session, today=day_after) == 0
    after = await api.proposal(str(registered.case_id))
    assert after.batch_month == next_month(before.batch_month)
    assert "sudah tutup" in after.note and "perlu disusun desa" in after.note.lower()
    told = (await api.staged(str(registered.case_id)))[-1]
    assert told["note"] == after.note and told["batch"].endswith(month_name(after.batch_month))
    page = await api.page(f"/usulan/{after.id}", "koor")
    assert after.note in page.text


async def _through_to_sent(api: Desk, proposal_id: str, kades: str) -> Proposal:
    """Approve, verify, ratify and send a drafted proposal."""
    approve = {"data": {"proposal_ids": [proposal_id], "held_on": "2026-11-20"}}
    assert (await api.post("/api/musdes", kades, **approve, files=MINUTES)).status_code == 200
    url = f"/api/proposals/{proposal_id}/actions"
    assert (await api.post(url, "dtks", json={"command": "verify"})).status_code == 200
    async with api.runtime.sessions() as session:
        proposal = await session.get(Proposal, UUID(proposal_id))
    assert proposal is not None
    batch = f"/api/batches/{proposal.window}/{proposal.batch_month:%Y-%m}"
    assert (await api.post(f"{batch}/ratify", "sekda")).json()["done"] == [proposal_id]
    await _send(api, proposal)
    return proposal


async def test_a_removal_answered_by_the_ministry_and_flagged_when_it_reappears(
    desk: tuple[Desk, Verval, dict[str, dict[str, str]]],
) -> None:
    api, _, people = desk
    lapsed = people["lapsed"]
    users = {"koor-3": (Role.COORDINATOR, lapsed["desa_code"], None),
             "kades-3": (Role.VILLAGE_HEAD, lapsed["desa_code"], None)}  # fmt: skip
    await api.add_users(users)
    body = {"nik": lapsed["nik"], "kind": "hapus", "program": "DTKS", "reason": ""}
    no_reason = await api.post("/api/proposals", "koor-3", json=body)
    assert no_reason.status_code == 422
    body["reason"] = "Sudah bekerja tetap di pabrik, penghasilan di atas UMK"
    elsewhere = await api.post("/api/proposals", "koor", json=body)
    if lapsed["desa_code"] != people["new"]["desa_code"]:
        assert elsewhere.status_code == 403 and "tidak berdomisili" in elsewhere.json()["message"]
    new_person = {**body, "nik": people["new"]["nik"], "kind": "perbaikan"}
    not_in = await api.post("/api/proposals", "koor", json=new_person)
    assert not_in.status_code == 409 and "Belum terdaftar di DTKS" in not_in.json()["message"]
    drafted = await api.post("/api/proposals", "koor-3", json=body)
    assert drafted.status_code == 201, drafted.text
    assert drafted.json()["status"] == "draf" and drafted.json()["drafted_by"] == "koor-3"
    proposal = await _through_to_sent(api, drafted.json()["id"], "kades-3")

    batch = f"/api/batches/{proposal.window}/{proposal.batch_month:%Y-%m}/answer"
    answer = (
        "nik,hasil,alasan\n"
        f"{lapsed['nik']},diterima,\n"
        "12345,diterima,\n"
        f"{people['new']['nik']},ditolak,\n"
        f"{people['new']['nik']},ditolak,Tidak ada di batch\n"
    )
    files = {"answer": ("jawaban.csv", answer.encode(), "text/csv")}
    result = (await api.post(batch, "dtks", files=files)).json()
    assert result["applied"] == 1 and result["waiting"] == 0
    assert [(e["line"], e["message"][:12]) for e in result["errors"]] == [
        (3, "NIK harus 16"), (4, "penolakan ta"), (5, "tidak ada us"),
    ]  # fmt: skip
    again = (await api.post(batch, "dtks", files=files)).json()
    assert again["applied"] == 0  # answered once: a second upload changes nothing
    assert (await api.post(batch, "koor-3", files=files)).status_code == 403

    detail = (await api.get(f"/api/proposals/{proposal.id}", "koor-3")).json()
    assert detail["status"] == "diterima"
    # The current DTKS snapshot (imported before the removal) still holds the person.
    page = await api.page("/ketidaksesuaian", "dtks")
    assert "muncul lagi" in page.text and lapsed["name"] in page.text


PHOTO = ("depan.jpg", b"\xff\xd8\xff\xe0 foto rumah", "image/jpeg")


async def test_a_new_registration_gets_a_home_visit_with_checklist_photos_and_verdict(
    desk: tuple[Desk, Verval, dict[str, dict[str, str]]],
) -> None:
    api, verval, people = desk
    desa = people["new"]["desa_code"]
    await api.add_users(
        {"kasun": (Role.KASUN, desa, None), "tksk-lain": (Role.TKSK, "33.17.14", None)}
    )
    registered = registered_case(people["new"], Category.DTKS_REGISTRATION)
    await verval.verified(registered)
    [task] = (await api.get("/api/visits", "kasun")).json()
    assert task["case_id"] == str(registered.case_id) and task["overdue"] is False
    assert date.fromisoformat(task["due_on"]) > date.today()
    url = f"/api/visits/{task['id']}"
    form = {
        "visited_on": date.today().isoformat(),
        "verdict": "sesuai",
        "checklist": ["lantai_tanah", "tanpa_jamban"],
        "note": "Rumah bambu, satu kamar",
    }
    photo = {"photos": PHOTO}
    by_koor = await api.post(url, "koor", data=form, files=photo)
    assert by_koor.status_code == 403 and "kasun" in by_koor.json()["message"]
    assert (await api.post(url, "tksk-lain", data=form, files=photo)).status_code == 404
    no_photo = await api.post(
        url, "kasun", data=form, files={"photos": ("x.txt", b"x", "text/plain")}
    )
    assert no_photo.status_code == 422 and "JPG atau PNG" in no_photo.json()["message"]
    bad_item = await api.post(
        url, "kasun", data=form | {"checklist": ["kolam_renang"]}, files=photo
    )
    assert bad_item.status_code == 422
    done = await api.post(url, "kasun", data=form, files=photo)
    assert done.status_code == 200, done.text
    assert done.json()["checklist"] == ["lantai_tanah", "tanpa_jamban"]
    assert (await api.post(url, "kasun", data=form, files=photo)).status_code == 409
    assert (await api.get("/api/visits", "kasun")).json() == []
    [recorded] = (await api.get("/api/visits?done=true", "dtks")).json()
    assert recorded["verdict"] == "sesuai" and recorded["visited_by"] == "kasun"
    assigned, seen = await api.staged(str(registered.case_id), "visit.updated")
    assert (assigned["due_on"], assigned["visited_on"]) == (task["due_on"], None)
    assert (seen["visited_on"], seen["verdict_label"]) == (
        form["visited_on"], "Kondisi sesuai: layak diusulkan"
    )  # fmt: skip
    assert people["new"]["name"] not in json.dumps([assigned, seen])
    proposal = await api.proposal(str(registered.case_id))
    page = await api.page(f"/usulan/{proposal.id}", "dtks")
    assert "Kondisi sesuai: layak diusulkan" in page.text
