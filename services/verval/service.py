"""Verval's use cases: verify a registered case and publish the verdict."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval import proposal_service, registry
from services.verval.domain import (
    DUPLICATE_WINDOW_DAYS,
    EarlierCase,
    IdentityCheck,
    Outcome,
    Presented,
    assess_identity,
    candidates,
    compare,
    duplicate_findings,
    household_findings,
    person_key,
    program_facts,
    second_niks,
    window_advice,
    window_for,
)
from services.verval.models import Verification
from shared.auth import service_actor
from shared.contracts import (
    CaseRegistered,
    CaseUpdated,
    CaseVerified,
    PrecheckReply,
    PrecheckRequest,
)
from shared.db import pending
from shared.outbox import add_event
from shared.staging import stage


async def verify_case(
    *, session: AsyncSession, registered: CaseRegistered | CaseUpdated, today: date
) -> Verification:
    """Check the case against the NIK's own structure and the registry snapshots, store the
    verdict and stage `case.verified`; open the DTKS proposal a consistent case needs."""
    person, area = registered.person, registered.area
    assessment = assess_identity(person, kabupaten_code=area.kabupaten)
    found = await registry.look_up(session, person.nik)
    check = await _identity_check(session, registered, found)
    facts = program_facts(found.dtks, found.memberships, dtks_loaded=found.dtks_loaded)
    findings = [*assessment.findings, *check.findings(), *facts.findings(registered.category)]
    if found.civil is not None:
        members, programs = await registry.household(session, found.snapshots, found.civil.kk)
        findings += household_findings(found.civil.kk, members, programs)
    key = person_key(person.nik)
    earlier = await _other_cases(session, key, registered.case_id)
    findings += duplicate_findings(earlier)
    consistent = assessment.identity_consistent and check.outcome in CONSISTENT
    verification = Verification(
        case_id=registered.case_id,
        source_event_id=registered.event_id,
        desa_code=area.desa,
        identity_consistent=consistent,
        findings_json=json.dumps(findings),
        registry_outcome=check.outcome.value,
        person_key=key,
        registration_number=registered.registration_number,
        category=registered.category.value,
    )
    stage(session, verification)  # not changed again in this transaction
    if consistent:
        await proposal_service.open_for_case(
            session=session, registered=registered, facts=facts, civil=found.civil, today=today
        )
    add_event(
        session,
        CaseVerified(
            case_id=registered.case_id,
            area=area,
            trace_id=registered.trace_id,
            actor=service_actor("verval", area.kabupaten),
            category=registered.category,
            urgent=registered.urgent,
            consent_to_share=registered.consent_to_share,
            identity_consistent=consistent,
            findings=findings,
            registration_number=registered.registration_number,
            in_dtks=facts.in_dtks,
            registry_outcome=check.outcome.value,
            mismatched_fields=check.mismatched,
            id_dtks=facts.id_dtks,
            desil=facts.desil,
            active_programs=facts.active_programs,
            pbi_active=facts.pbi_active,
            bpjs_arrears=facts.arrears,
            possible_duplicates=[case.registration_number for case in earlier],
        ),
    )
    return verification


async def _other_cases(session: AsyncSession, key: str, case_id: UUID) -> list[EarlierCase]:
    """The same person's other cases verified lately (each once, however often verified):
    those stored, and those verified earlier in the same batch, which the session holds
    unwritten. Looking at those directly, rather than flushing them to read them back,
    lets a batch's verifications be written together at commit (bench/RESULTS.md)."""
    unwritten = [
        EarlierCase(v.registration_number, v.desa_code, v.category)
        for v in pending(session, Verification)
        if v.person_key == key and v.case_id != case_id
    ]
    with session.no_autoflush:
        stored = await _stored_cases(session, key, case_id)
    return list(dict.fromkeys([*stored, *unwritten]))[:5]


# Built once, with its values as parameters: building it took longer than running it.
_STORED_CASES = (
    select(Verification.registration_number, Verification.desa_code, Verification.category)
    .where(
        Verification.person_key == bindparam("key"),
        Verification.case_id != bindparam("case_id"),
        col(Verification.created_at) >= bindparam("since"),
    )
    .distinct()
    .limit(5)
)


async def _stored_cases(session: AsyncSession, key: str, case_id: UUID) -> list[EarlierCase]:
    since = datetime.now(UTC) - timedelta(days=DUPLICATE_WINDOW_DAYS)
    params = {"key": key, "case_id": case_id, "since": since}
    return [EarlierCase(*row) for row in (await session.exec(_STORED_CASES, params=params)).all()]


# Outcomes that let a case go on; a mismatch, an unknown NIK or a death must be settled first.
CONSISTENT = frozenset({Outcome.MATCH, Outcome.NO_REGISTRY})


async def _identity_check(
    session: AsyncSession, registered: CaseRegistered | CaseUpdated, found: registry.Registry
) -> IdentityCheck:
    person = registered.person
    presented = Presented(
        person.name, person.birth_date, person.sex.value, registered.area.desa, person.birth_place
    )
    if not found.civil_loaded:
        return IdentityCheck(Outcome.NO_REGISTRY)
    pool = await registry.born_on(
        session, found.snapshots, person.birth_date, registered.area.kecamatan
    )
    if found.civil is not None:
        checked = compare(presented, found.civil)
        return replace(checked, extra=second_niks(presented, person.nik, pool))
    return IdentityCheck(Outcome.NOT_FOUND, candidates=candidates(presented, pool))


async def precheck(
    *, session: AsyncSession, request: PrecheckRequest, today: date
) -> PrecheckReply:
    """What applies to a person at the desk, from the current snapshots: in DTKS or not,
    their programs, and the monthly window the proposal goes in."""
    found = await registry.look_up(session, request.nik)
    facts = program_facts(found.dtks, found.memberships, dtks_loaded=found.dtks_loaded)
    window = window_for(request.category, facts.in_dtks, today)
    return PrecheckReply(
        registry_loaded=found.civil_loaded or found.dtks_loaded,
        in_dtks=facts.in_dtks,
        id_dtks=facts.id_dtks,
        active_programs=facts.active_programs,
        pbi_active=facts.pbi_active,
        window=window,
        advice=[*facts.findings(request.category), *window_advice(window)],
    )


async def latest_verification(*, session: AsyncSession, case_id: UUID) -> Verification | None:
    query = (
        select(Verification)
        .where(Verification.case_id == case_id)
        .order_by(col(Verification.created_at).desc())
    )
    return (await session.exec(query)).first()
