"""The secretariat and the liaisons move referrals through the API; both databases."""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel import select

from services.referral import service
from services.referral.models import Referral
from shared.accounts import AuditEntry
from shared.contracts import Category
from tests.events import case_escalated, case_verified
from tests.referral.conftest import ReferralDesk


async def _sent(desk: ReferralDesk, **changes: object) -> Referral:
    _, (referral,) = await desk.arrive(**changes)
    response = await desk.act(referral.id, "send")
    assert response.status_code == 200, response.text
    return referral


async def test_a_case_is_referred_only_once_it_reaches_the_district(desk: ReferralDesk) -> None:
    verified, referrals = await desk.arrive()
    assert [(r.destination, r.status) for r in referrals] == [("bpjs_dinkes", "created")]
    assert referrals[0].registration_number == verified.registration_number
    assert referrals[0].due_at is not None
    created = await desk.events("referral.created")
    assert [e["referral_id"] for e in created] == [str(referrals[0].id)]


async def test_an_urgent_case_is_referred_on_verification_without_waiting(
    desk: ReferralDesk,
) -> None:
    urgent = case_verified(category=Category.HEALTH_EMERGENCY, urgent=True)
    calm = case_verified()
    async with desk.runtime.sessions() as session:
        for verified in (urgent, calm):
            await service.note_verified(session=session, verified=verified, now=datetime.now(UTC))
        await session.commit()
    assert {r.destination for r in await desk.referrals(urgent.case_id)} == {
        "rumah_sakit",
        "bpjs_dinkes",
    }
    assert await desk.referrals(calm.case_id) == []


async def test_the_whole_way_to_a_closed_case(desk: ReferralDesk) -> None:
    referral = await _sent(desk)
    accept = await desk.act(referral.id, "accept", as_user="penghubung-bpjs")
    assert accept.json()["status"] == "accepted"
    assert (await desk.act(referral.id, "start", as_user="penghubung-bpjs")).status_code == 200
    card = await desk.client.post(
        f"/api/referrals/{referral.id}/card",
        json={"stage": "temporary"},
        headers=await desk.auth("penghubung-bpjs"),
    )
    assert card.json()["card_stage"] == "temporary"
    done = await desk.act(referral.id, "complete", as_user="penghubung-bpjs", served=True)
    assert done.status_code == 200, done.text
    steps = [(s["command"], s["username"]) for s in done.json()["steps"]]
    steps = [step for step in steps if step[0] != "kis_daerah"]  # its own test covers it
    assert steps == [
        ("create", "service:referral"),
        ("send", "sekretariat"),
        ("accept", "penghubung-bpjs"),
        ("start", "penghubung-bpjs"),
        ("card", "penghubung-bpjs"),
        ("complete", "penghubung-bpjs"),
    ]
    updates = [e["status"] for e in await desk.events("referral.updated")]
    assert updates == ["sent", "accepted", "in_service", "in_service", "completed"]
    (closed,) = await desk.events("case.closed")
    assert closed["decision"] == "served"
    assert "dilayani" in closed["summary"]


async def test_an_impossible_move_is_refused_with_409_and_a_message(desk: ReferralDesk) -> None:
    _, (referral,) = await desk.arrive()
    response = await desk.act(referral.id, "complete", served=True)
    assert response.status_code == 409
    assert "tidak dapat" in response.json()["message"]
    assert await desk.events("referral.updated") == []


async def test_a_rejection_needs_a_reason_code_and_other_needs_words(desk: ReferralDesk) -> None:
    referral = await _sent(desk)
    no_reason = await desk.act(referral.id, "reject", as_user="penghubung-bpjs")
    assert no_reason.status_code == 422
    assert no_reason.json()["message"] == "Pilih alasan penolakan."
    other = await desk.act(
        referral.id, "reject", as_user="penghubung-bpjs", rejection_reason="other"
    )
    assert other.status_code == 422
    unknown = await desk.act(
        referral.id, "reject", as_user="penghubung-bpjs", rejection_reason="bosan"
    )
    assert unknown.status_code == 422
    assert "pilihan tidak dikenal" in unknown.json()["message"]


async def test_data_mismatch_sends_the_case_back_to_its_village_and_keeps_it_open(
    desk: ReferralDesk,
) -> None:
    referral = await _sent(desk)
    response = await desk.act(
        referral.id,
        "reject",
        as_user="penghubung-bpjs",
        rejection_reason="data_mismatch",
        note="tanggal lahir beda dengan Dukcapil",
    )
    assert response.json()["status"] == "rejected"
    *_, update = await desk.events("referral.updated")
    assert update["returns_to_village"] is True
    assert update["rejection_label"] == "Data tidak sesuai dengan Dukcapil"
    assert await desk.events("case.closed") == []


async def test_the_village_resending_after_a_correction_makes_a_new_referral(
    desk: ReferralDesk,
) -> None:
    referral = await _sent(desk)
    await desk.act(
        referral.id, "reject", as_user="penghubung-bpjs", rejection_reason="documents_incomplete"
    )
    verified_case = referral.case_id
    (first,) = await desk.referrals(verified_case)
    again = case_escalated(case_verified(verified_case))
    async with desk.runtime.sessions() as session:
        await service.note_escalated(session=session, escalated=again, now=datetime.now(UTC))
        await session.commit()
    statuses = sorted(r.status for r in await desk.referrals(verified_case))
    assert statuses == ["created", "rejected"]
    assert first.status == "rejected"


async def test_a_plain_rejection_closes_the_case_as_not_served(desk: ReferralDesk) -> None:
    referral = await _sent(desk)
    await desk.act(referral.id, "reject", as_user="penghubung-bpjs", rejection_reason="duplicate")
    (closed,) = await desk.events("case.closed")
    assert closed["decision"] == "not_served"
    assert "Sudah pernah diusulkan" in closed["summary"]


async def test_completion_needs_its_outcome(desk: ReferralDesk) -> None:
    referral = await _sent(desk)
    await desk.act(referral.id, "accept", as_user="penghubung-bpjs")
    await desk.act(referral.id, "start", as_user="penghubung-bpjs")
    missing = await desk.act(referral.id, "complete", as_user="penghubung-bpjs")
    assert missing.status_code == 422
    why_not = await desk.act(referral.id, "complete", as_user="penghubung-bpjs", served=False)
    assert why_not.json()["message"] == "Pilih mengapa warga tidak dilayani."
    done = await desk.act(
        referral.id,
        "complete",
        as_user="penghubung-bpjs",
        served=False,
        not_served_reason="unreachable",
    )
    assert done.json()["not_served_reason"] == "unreachable"


async def test_no_consent_blocks_sending_unless_the_head_overrides_with_a_reason(
    desk: ReferralDesk,
) -> None:
    _, (referral,) = await desk.arrive(consent_to_share=False)
    refused = await desk.act(referral.id, "send")
    assert refused.status_code == 409
    assert "persetujuan" in refused.json()["message"]
    staff_override = await desk.act(referral.id, "send", consent_override=True, note="darurat")
    assert staff_override.status_code == 403
    no_reason = await desk.act(referral.id, "send", as_user="kepala", consent_override=True)
    assert no_reason.status_code == 422
    sent = await desk.act(
        referral.id, "send", as_user="kepala", consent_override=True, note="warga dirawat di RS"
    )
    assert sent.status_code == 200
    audit = await desk.get(f"/api/referrals/{referral.id}")
    assert audit.json()["steps"][-1]["note"] == "warga dirawat di RS"


async def test_cancel_and_reopen_need_a_reason(desk: ReferralDesk) -> None:
    referral = await _sent(desk)
    assert (await desk.act(referral.id, "cancel")).status_code == 422
    assert (await desk.act(referral.id, "cancel", note="warga pindah")).status_code == 200
    reopened = await desk.act(referral.id, "reopen", note="warga kembali")
    assert reopened.json()["status"] == "created"


async def test_a_liaison_sees_and_answers_only_their_agencys_referrals(
    desk: ReferralDesk,
) -> None:
    bpjs = await _sent(desk)
    pkh = await _sent(desk, category=Category.PKH)
    listed = await desk.get("/api/referrals", as_user="penghubung-bpjs")
    assert [r["id"] for r in listed.json()] == [str(bpjs.id)]
    other = await desk.get(f"/api/referrals/{pkh.id}", as_user="penghubung-bpjs")
    assert other.status_code == 404
    answer = await desk.act(pkh.id, "accept", as_user="penghubung-bpjs")
    assert answer.status_code == 404
    send = await desk.act(bpjs.id, "cancel", as_user="penghubung-bpjs", note="bukan urusan kami")
    assert send.status_code == 403
    own = await desk.act(pkh.id, "accept", as_user="penghubung-pkh")
    assert own.status_code == 200


async def test_only_readers_open_referrals_and_everyone_must_sign_in(
    desk: ReferralDesk,
) -> None:
    _, (referral,) = await desk.arrive()
    assert (await desk.client.get("/api/referrals")).status_code == 401
    admin = await desk.get(f"/api/referrals/{referral.id}", as_user="admin")
    assert admin.status_code == 403
    missing = await desk.get(f"/api/referrals/{UUID(int=7)}")
    assert missing.status_code == 404


async def test_triage_needs_a_destination_before_it_is_sent(desk: ReferralDesk) -> None:
    _, (referral,) = await desk.arrive(category=Category.OTHER)
    assert referral.destination == "triase"
    queue = await desk.get("/api/referrals", params={"queue": "triage"})
    assert [r["id"] for r in queue.json()] == [str(referral.id)]
    refused = await desk.act(referral.id, "send")
    assert refused.status_code == 409
    assigned = await desk.client.post(
        f"/api/referrals/{referral.id}/assign",
        json={"destination": "atensi", "note": "lansia tinggal sendiri"},
        headers=await desk.auth("sekretariat"),
    )
    assert assigned.json()["destination"] == "atensi"
    assert (await desk.act(referral.id, "send")).status_code == 200


async def test_card_stages_move_forward_only_and_only_for_health_insurance(
    desk: ReferralDesk,
) -> None:
    referral = await _sent(desk)
    url = f"/api/referrals/{referral.id}/card"
    headers = await desk.auth("penghubung-bpjs")
    early = await desk.client.post(url, json={"stage": "temporary"}, headers=headers)
    assert early.status_code == 409
    await desk.act(referral.id, "accept", as_user="penghubung-bpjs")
    await desk.act(referral.id, "start", as_user="penghubung-bpjs")
    ready = await desk.client.post(url, json={"stage": "ready_for_collection"}, headers=headers)
    assert ready.status_code == 200
    back = await desk.client.post(url, json={"stage": "temporary"}, headers=headers)
    assert back.status_code == 409
    pkh = await _sent(desk, category=Category.PKH)
    wrong = await desk.client.post(
        f"/api/referrals/{pkh.id}/card",
        json={"stage": "temporary"},
        headers=await desk.auth("sekretariat"),
    )
    assert wrong.status_code == 409


async def test_every_read_and_change_is_in_the_audit_log(desk: ReferralDesk) -> None:
    referral = await _sent(desk)
    await desk.get(f"/api/referrals/{referral.id}", as_user="penghubung-bpjs")
    async with desk.runtime.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.case_id == referral.case_id)
        entries = [(e.username, e.action) for e in (await session.exec(query)).all()]
    assert ("sekretariat", "referral.send") in entries
    assert ("penghubung-bpjs", "referral.read") in entries
