"""Routing: the national defaults send every category somewhere, and a district's own
rules (edited on the settings page) decide what the next cases do."""

import pytest

from services.referral.domain import (
    DEFAULT_DESTINATIONS,
    DEFAULT_RULES,
    TRIAGE,
    Destination,
    Facts,
    Rule,
    route,
)
from shared.contracts import Category
from tests.referral.conftest import ReferralDesk

DEFAULTS = {d.code: d for d in DEFAULT_DESTINATIONS}


def _codes(facts: Facts, rules: tuple[Rule, ...] = DEFAULT_RULES) -> list[str]:
    return [d.code for d in route(facts, list(rules), DEFAULTS)]


@pytest.mark.parametrize("category", [c for c in Category if c is not Category.OTHER])
def test_every_category_but_other_has_a_program_by_default(category: Category) -> None:
    codes = _codes(Facts(category, identity_consistent=True))
    assert codes and TRIAGE.code not in codes


@pytest.mark.parametrize("category", list(Category))
def test_an_identity_to_correct_goes_to_triage_first(category: Category) -> None:
    assert _codes(Facts(category, identity_consistent=False)) == [TRIAGE.code]


def test_other_and_unmatched_cases_go_to_triage_never_nowhere() -> None:
    assert _codes(Facts(Category.OTHER, identity_consistent=True)) == [TRIAGE.code]
    assert _codes(Facts(Category.PKH, identity_consistent=True), rules=()) == [TRIAGE.code]


def test_conditions_on_dtks_and_urgency_pick_extra_destinations() -> None:
    enrol = Category.PBI_ENROLMENT
    assert _codes(Facts(enrol, True, in_dtks=True)) == ["bpjs_dinkes"]
    assert _codes(Facts(enrol, True, in_dtks=False)) == ["bpjs_dinkes", "dinsos_dtks"]
    assert _codes(Facts(enrol, True, in_dtks=None)) == ["bpjs_dinkes"]
    urgent_only = (*DEFAULT_RULES, Rule(Category.ATENSI, "rumah_sakit", urgent=True))
    assert _codes(Facts(Category.ATENSI, True, urgent=True), urgent_only) == [
        "atensi",
        "rumah_sakit",
    ]
    assert _codes(Facts(Category.ATENSI, True, urgent=False), urgent_only) == ["atensi"]


def test_a_switched_off_destination_is_skipped() -> None:
    closed = DEFAULTS | {"pkh": Destination("pkh", "PKH", active=False)}
    targets = route(Facts(Category.PKH, True), list(DEFAULT_RULES), closed)
    assert [d.code for d in targets] == [TRIAGE.code]


async def test_the_head_changes_rules_and_targets_and_the_next_case_follows(
    desk: ReferralDesk,
) -> None:
    head = await desk.auth("kepala")
    added = await desk.client.post(
        "/api/rules", json={"category": "pkh", "destination": "bpnt"}, headers=head
    )
    assert added.status_code == 201, added.text
    changed = await desk.client.put(
        "/api/destinations/bpnt",
        json={
            "name": "Koordinator BPNT",
            "answer_days": 2,
            "service_days": 10,
            "contact": "bpnt@rembangkab.go.id",
            "channel": "email",
        },
        headers=head,
    )
    assert changed.json()["answer_days"] == 2
    _, referrals = await desk.arrive(category=Category.PKH)
    assert sorted(r.destination for r in referrals) == ["bpnt", "pkh"]
    rules = (await desk.get("/api/rules")).json()
    pkh_rules = [r["id"] for r in rules if r["category"] == "pkh"]
    for rule_id in pkh_rules:
        removed = await desk.client.delete(f"/api/rules/{rule_id}", headers=head)
        assert removed.status_code == 204
    _, referrals = await desk.arrive(category=Category.PKH)
    assert [r.destination for r in referrals] == ["triase"]


async def test_only_the_admin_and_the_head_edit_and_triage_stays_on(desk: ReferralDesk) -> None:
    rule = {"category": "pkh", "destination": "bpnt"}
    staff = await desk.client.post("/api/rules", json=rule, headers=await desk.auth("sekretariat"))
    assert staff.status_code == 403
    unknown = await desk.client.post(
        "/api/rules", json=rule | {"destination": "dukun"}, headers=await desk.auth("admin")
    )
    assert unknown.status_code == 422
    off = {"name": "Triase", "answer_days": 1, "service_days": 1, "active": False}
    triage = await desk.client.put(
        "/api/destinations/triase", json=off, headers=await desk.auth("admin")
    )
    assert triage.status_code == 409


def test_desil_and_programs_narrow_a_rule() -> None:
    poorest_new = Rule(Category.ATENSI, "pkh", max_desil=2, lacks_program="PKH")
    rules = (*DEFAULT_RULES, poorest_new)
    poor = Facts(Category.ATENSI, True, desil=1, programs=frozenset({"BPNT"}))
    assert _codes(poor, rules) == ["atensi", "pkh"]
    already = Facts(Category.ATENSI, True, desil=1, programs=frozenset({"PKH"}))
    assert _codes(already, rules) == ["atensi"]
    better_off = Facts(Category.ATENSI, True, desil=4)
    assert _codes(better_off, rules) == ["atensi"]
    unknown = Facts(Category.ATENSI, True, desil=None)
    assert _codes(unknown, rules) == ["atensi"]


async def test_a_rule_on_verval_facts_routes_the_case_it_fits(desk: ReferralDesk) -> None:
    rule = {"category": "atensi", "destination": "pkh", "max_desil": 2, "lacks_program": "pkh"}
    added = await desk.client.post("/api/rules", json=rule, headers=await desk.auth("kepala"))
    assert added.json()["lacks_program"] == "PKH"
    _, fits = await desk.arrive(category=Category.ATENSI, desil=1, active_programs=["BPNT"])
    assert sorted(r.destination for r in fits) == ["atensi", "pkh"]
    _, has_pkh = await desk.arrive(category=Category.ATENSI, desil=1, active_programs=["PKH"])
    assert [r.destination for r in has_pkh] == ["atensi"]
