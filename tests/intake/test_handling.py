"""The village's handling: back office, coordinator, supervisor; every step recorded and raised."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.workflow import MOVES, Action, Resolution, Stage, TransitionRefused, move
from shared.auth import Role
from tests.intake.conftest import Intake


async def act(intake: Intake, url: str, as_user: str, action: str, reason: str = "", **extra: str):
    return await intake.client.post(
        f"{url}/actions",
        json={"action": action, "reason": reason, **extra},
        headers=await intake.auth(as_user),
    )


async def test_proposed_approved_returned_corrected_and_forwarded(intake: Intake) -> None:
    case = (await intake.register()).json()
    url = case["url"]
    assert (
        await act(
            intake, url, "bo-sumber", "propose_upward", "Perlu reaktivasi PBI, desa tidak bisa"
        )
    ).json()["stage"] == "awaiting_approval"
    assert (await act(intake, url, "koor-sumber", "approve")).json()["stage"] == "supervisor"
    queue = (
        await intake.get("/api/cases", as_user="sup-sumber", params={"stage": "supervisor"})
    ).json()
    assert [c["id"] for c in queue] == [case["id"]]
    returned = (
        await act(intake, url, "sup-sumber", "return_to_village", "SKTM belum dilampirkan")
    ).json()
    assert returned["stage"] == "village"
    assert returned["timeline"][-1]["note"] == "SKTM belum dilampirkan"
    await act(
        intake, url, "bo-sumber", "propose_upward", "SKTM sudah dilampirkan, mohon diteruskan"
    )
    await act(intake, url, "koor-sumber", "approve")
    forwarded = (
        await act(intake, url, "sup-sumber", "forward", "Layak, teruskan ke Dinsos")
    ).json()
    assert forwarded["stage"] == "district"
    steps = [(s["step"], s["actor"]) for s in forwarded["timeline"] if s["service"] == "intake"]
    assert steps[-1] == ("Diteruskan ke kabupaten", "sup-sumber")
    assert len(steps) == 7  # registration and six actions, each with who
    events = [json.loads(row.payload) for row in await intake.outbox()]
    raised = [(e["type"], e.get("level")) for e in events]
    assert raised == [
        ("case.registered", None),
        ("case.escalated", "kecamatan"),
        ("case.returned", None),
        ("case.escalated", "kecamatan"),
        ("case.escalated", "kabupaten"),
    ]
    assert (
        events[-1]["actor"]["user_id"] == "sup-sumber"
        and events[-1]["category"] == "pbi_reaktivasi"
    )


async def test_resolved_locally_with_what_the_village_gave(intake: Intake) -> None:
    case = (await intake.register(category="lainnya")).json()
    missing = await act(
        intake, case["url"], "bo-sumber", "resolve_locally", "Diberi SKTM oleh desa"
    )
    assert missing.status_code == 422 and "bentuk penyelesaian" in missing.json()["message"]
    done = await act(
        intake,
        case["url"],
        "bo-sumber",
        "resolve_locally",
        "Diberi SKTM oleh desa",
        resolution="surat_desa",
    )
    assert done.json()["stage"] == "resolved_locally"
    last = json.loads((await intake.outbox())[-1].payload)
    assert (last["type"], last["resolution"]) == ("case.resolved_locally", "surat_desa")
    again = await act(intake, case["url"], "bo-sumber", "propose_upward", "Coba usulkan juga")
    assert again.status_code == 409 and "Selesai ditangani di desa" in again.json()["message"]


@pytest.mark.parametrize(
    ("as_user", "action", "status"),
    [
        ("fo-sumber", "propose_upward", 403),  # the front office registers; the back office acts
        ("koor-sumber", "propose_upward", 403),
        ("bo-sumber", "approve", 403),  # nobody approves their own proposal's leaving
        ("sup-lasem", "forward", 404),  # another kecamatan does not see the case
        ("sup-sumber", "forward", 409),  # not yet at the supervisor
        ("bo-sumber", "propose_upward", 422),  # no reason given
    ],
)
async def test_refusals(intake: Intake, as_user: str, action: str, status: int) -> None:
    case = (await intake.register()).json()
    response = await act(
        intake, case["url"], as_user, action, "" if status == 422 else "alasan cukup"
    )
    assert response.status_code == status
    assert response.json()["message"]
    assert len(await intake.outbox()) == 1  # nothing raised


@given(st.lists(st.tuples(st.sampled_from(list(Action)), st.sampled_from(list(Role))), max_size=30))
def test_no_sequence_of_commands_leaves_the_graph(commands: list[tuple[Action, Role]]) -> None:
    stage = Stage.VILLAGE
    for action, role in commands:
        try:
            new = move(
                stage, action, role, reason="alasan cukup", resolution=Resolution.INFORMATION
            )
        except TransitionRefused:
            continue
        assert (MOVES[action].source, MOVES[action].target, MOVES[action].role) == (
            stage,
            new,
            role,
        )
        stage = new
    assert stage in Stage


async def test_without_consent_only_the_supervisors_audited_word_lets_the_case_out(
    intake: Intake,
) -> None:
    case = (await intake.register(consent_to_share=False)).json()
    url = case["url"]
    await act(intake, url, "bo-sumber", "propose_upward", "Perlu rujukan ke kabupaten")
    too_early = await act(intake, url, "sup-sumber", "override_consent", "Warga dirawat, tak sadar")
    assert too_early.status_code == 409  # still with the coordinator
    await act(intake, url, "koor-sumber", "approve")
    assert (await act(intake, url, "sup-sumber", "override_consent", "ok")).status_code == 422
    by_village = await act(intake, url, "bo-sumber", "override_consent", "Warga tak sadar")
    assert by_village.status_code == 403

    allowed = await act(
        intake, url, "sup-sumber", "override_consent", "Warga dirawat dan tidak sadar"
    )
    assert allowed.status_code == 200, allowed.text
    body = allowed.json()
    assert body["stage"] == "supervisor"
    assert body["consent_override_by"] == "sup-sumber"
    assert body["consent_override_reason"] == "Warga dirawat dan tidak sadar"
    assert body["timeline"][-1]["step"] == "Persetujuan warga dikecualikan supervisor"
    twice = await act(intake, url, "sup-sumber", "override_consent", "Sekali lagi ya")
    assert twice.status_code == 409 and "sudah" in twice.json()["message"]

    await act(intake, url, "sup-sumber", "forward", "Layak, teruskan ke Dinsos")
    escalations = [
        json.loads(row.payload)
        for row in await intake.outbox()
        if row.event_type == "case.escalated"
    ]
    assert [(e["level"], e["consent_to_share"]) for e in escalations] == [
        ("kecamatan", False),
        ("kabupaten", True),
    ]
    audit = (await intake.get(f"{url}/audit", as_user="admin")).json()
    assert any(a["action"] == "override_consent" and a["username"] == "sup-sumber" for a in audit)


async def test_where_the_village_requires_it_its_head_signs_after_the_coordinator(
    intake: Intake,
) -> None:
    rule_url = "/api/villages/33.17.01.2001/rule"
    assert (await intake.get(rule_url, as_user="bo-sumber")).json()["head_signs"] is False
    refused = await intake.client.put(
        rule_url, json={"head_signs": True}, headers=await intake.auth("bo-sumber")
    )
    assert refused.status_code == 403 and "koordinator" in refused.json()["message"]
    other_desa = await intake.client.put(
        "/api/villages/33.17.14.2008/rule",
        json={"head_signs": True},
        headers=await intake.auth("koor-sumber"),
    )
    assert other_desa.status_code == 403
    unknown = await intake.client.put(
        "/api/villages/33.17.99.9999/rule",
        json={"head_signs": True},
        headers=await intake.auth("admin"),
    )
    assert unknown.status_code == 404
    set_rule = await intake.client.put(
        rule_url, json={"head_signs": True}, headers=await intake.auth("koor-sumber")
    )
    assert set_rule.json() == {"desa_code": "33.17.01.2001", "head_signs": True}

    case = (await intake.register()).json()
    url = case["url"]
    await act(intake, url, "bo-sumber", "propose_upward", "Perlu reaktivasi PBI, desa tidak bisa")
    waiting = (await act(intake, url, "koor-sumber", "approve")).json()
    assert waiting["stage"] == "awaiting_head"
    assert (await act(intake, url, "koor-sumber", "head_approve")).status_code == 403
    back = await act(intake, url, "kades-sumber", "head_send_back", "Lengkapi SKTM dulu")
    assert back.json()["stage"] == "village"
    await act(intake, url, "bo-sumber", "propose_upward", "SKTM sudah ada, mohon disetujui")
    await act(intake, url, "koor-sumber", "approve")
    signed = (await act(intake, url, "kades-sumber", "head_approve")).json()
    assert signed["stage"] == "supervisor"
    steps = [s["step"] for s in signed["timeline"] if s["service"] == "intake"]
    assert steps[-3:] == ["Diusulkan ke atas", "Disetujui koordinator", "Disetujui kepala desa"]
    raised = [
        (json.loads(row.payload)["type"], json.loads(row.payload).get("level"))
        for row in await intake.outbox()
    ]
    # Only the head's signature lets the case leave the village.
    assert raised == [
        ("case.registered", None),
        ("case.returned", None),
        ("case.escalated", "kecamatan"),
    ]
