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
