"""Registry snapshots on both databases: generated with known defects, imported, swapped
at once, and used by verval on real NATS to judge what villages register."""

import csv
import json
import threading
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select

from services.verval import importer, service
from services.verval.importer import ImportRefused, import_csv
from services.verval.registry import Kind, Snapshot, current_view, snapshot_table
from shared.contracts import CaseUpdated, Category
from shared.identity import check_kk, parse_nik
from slrt.synthetic import second_nik
from tests.verval.conftest import Verval, presented_by_defect, registered_case, registry_engine


def test_a_bad_row_is_reported_by_line_and_the_rest_imports(
    database_url: str, district: Path, tmp_path: Path
) -> None:
    engine = registry_engine(database_url)
    lines = (district / "civil.csv").read_text().splitlines()
    broken = [lines[0], lines[1], lines[2].replace(",L,", ",X,").replace(",P,", ",X,"),
              "3317,1,Nama,L,Rembang,1990-01-01,RT 1,33.17.01.2001,1,", lines[3]]  # fmt: skip
    path = tmp_path / "civil.csv"
    path.write_text("\n".join(broken) + "\n")
    result = import_csv(engine, Kind.CIVIL, path)
    assert (result.rows, result.rejected) == (2, 2)
    assert result.errors == [(3, "sex harus L atau P"), (4, "NIK harus 16 angka")]
    with pytest.raises(ImportRefused, match="kolom tidak ada: kk"):
        (tmp_path / "no_kk.csv").write_text("nik,name\n3317014507850001,Siti\n")
        import_csv(engine, Kind.CIVIL, tmp_path / "no_kk.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text(lines[0] + "\n" + broken[3] + "\n")
    with pytest.raises(ImportRefused, match="data lama tetap dipakai"):
        import_csv(engine, Kind.CIVIL, empty)
    with engine.connect() as conn:
        current = conn.execute(select(Snapshot.rows).where(Snapshot.current)).scalars().all()  # type: ignore[arg-type]
    assert current == [2]  # the good import is still the one in use


def test_readers_see_the_old_snapshot_or_the_new_never_a_mix(
    database_url: str, district: Path
) -> None:
    engine = registry_engine(database_url)
    import_csv(engine, Kind.CIVIL, district / "civil.csv")
    seen: set[int] = set()
    stop = threading.Event()

    def count_current() -> None:
        while not stop.is_set():
            with engine.connect() as conn:
                snap = conn.execute(select(Snapshot.id).where(Snapshot.current)).scalar_one()  # type: ignore[arg-type]
                table = snapshot_table(Kind.CIVIL, snap)
                seen.add(conn.execute(select(func.count()).select_from(table)).scalar_one())
                view = current_view(Kind.CIVIL)  # as a NIK lookup reads it
                seen.add(conn.execute(select(func.count()).select_from(view)).scalar_one())

    reader = threading.Thread(target=count_current)
    reader.start()
    try:
        import_csv(engine, Kind.CIVIL, district / "civil.csv")
    finally:
        stop.set()
        reader.join()
    people = sum(1 for _ in (district / "civil.csv").open()) - 1
    assert seen == {people}  # every read saw a whole registry


def test_a_reader_holding_the_replaced_snapshot_still_finds_its_rows(
    database_url: str, district: Path
) -> None:
    engine = registry_engine(database_url)
    civil = district / "civil.csv"
    first = import_csv(engine, Kind.CIVIL, civil).snapshot_id
    second = import_csv(engine, Kind.CIVIL, civil).snapshot_id  # a check still reads `first`
    third = import_csv(engine, Kind.CIVIL, civil).snapshot_id

    people = sum(1 for _ in civil.open()) - 1
    assert [rows(engine, first), rows(engine, second), rows(engine, third)] == [
        None,
        people,
        people,
    ]
    with engine.connect() as conn:
        kept = conn.execute(select(Snapshot.id, Snapshot.current)).all()  # type: ignore[call-overload]
    assert sorted(kept) == [(second, False), (third, True)]


def rows(engine: Engine, snapshot_id: int) -> int | None:
    """How many rows a civil snapshot's table holds; None once the table is gone."""
    table = snapshot_table(Kind.CIVIL, snapshot_id)
    if not inspect(engine).has_table(table.name):
        return None
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def test_each_defect_is_judged_as_the_ground_truth_says(
    verval: Verval, district: Path
) -> None:
    people = presented_by_defect(district)
    clean = await verval.verified(registered_case(people[""], Category.PKH))
    assert (clean["registry_outcome"], clean["identity_consistent"]) == ("match", True)
    assert not any("NIK ganda" in f for f in clean["findings"])
    twice = people["duplicated"]
    judged_twice = await verval.verified(registered_case(twice, Category.PKH))
    assert judged_twice["registry_outcome"] == "match"
    second = second_nik(twice["nik"])
    assert any(
        "NIK ganda" in f and second[-4:] in f and twice["nik"] not in f
        for f in judged_twice["findings"]
    )
    variant = await verval.verified(registered_case(people["name_variant"], Category.PKH))
    assert variant["registry_outcome"] == "match"  # a spelling variant is the same person
    wrong_day = await verval.verified(registered_case(people["wrong_birth_date"], Category.PKH))
    assert wrong_day["mismatched_fields"] == ["birth_date"]
    assert wrong_day["identity_consistent"] is False
    elsewhere = await verval.verified(registered_case(people["wrong_birth_place"], Category.PKH))
    assert elsewhere["mismatched_fields"] == ["birth_place"]
    typo = people["nik_typo"]
    judged = await verval.verified(registered_case(typo, Category.PKH))
    if judged["registry_outcome"] == "not_found":  # the typo may hit someone else's NIK
        assert typo["true_nik"][-4:] in " ".join(judged["findings"])
    else:
        assert judged["registry_outcome"] == "mismatch"
    assert judged["identity_consistent"] is False


async def test_program_facts_reach_referral_without_personal_data(
    verval: Verval, district: Path
) -> None:
    with (district / "dtks.csv").open() as handle:
        in_dtks = next(csv.DictReader(handle))
    with (district / "presented.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["true_nik"] == in_dtks["nik"])
    judged = await verval.verified(registered_case(row, Category.DTKS_REGISTRATION))
    assert judged["in_dtks"] is True and judged["id_dtks"] == in_dtks["id_dtks"]
    assert any("tidak perlu diusulkan" in f for f in judged["findings"])
    assert in_dtks["nik"] not in json.dumps({k: v for k, v in judged.items() if k != "findings"})


async def test_a_stale_kk_after_a_death_is_flagged_for_the_household(
    verval: Verval, district: Path
) -> None:
    with (district / "civil.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    dead = next(r for r in rows if r["alive"] == "0")
    relative = next(r for r in rows if r["kk"] == dead["kk"] and r["alive"] == "1")
    with (district / "presented.csv").open() as handle:
        presented = next(r for r in csv.DictReader(handle) if r["true_nik"] == relative["nik"])
    judged = await verval.verified(
        registered_case(presented | {"nik": relative["nik"]}, Category.PKH)
    )
    assert any("KK perlu diperbarui" in f for f in judged["findings"])


async def test_a_corrected_identity_is_checked_again(verval: Verval, district: Path) -> None:
    wrong = presented_by_defect(district)["wrong_birth_date"]
    registered = registered_case(wrong, Category.PKH)
    first = await verval.verified(registered)
    assert first["mismatched_fields"] == ["birth_date"]
    with (district / "civil.csv").open() as handle:
        truth = next(r for r in csv.DictReader(handle) if r["nik"] == wrong["true_nik"])
    person = registered.person.model_copy(
        update={"birth_date": date.fromisoformat(truth["birth_date"])}
    )
    fields = registered.model_dump(include={"case_id", "area", "trace_id", "actor"})
    corrected = CaseUpdated(
        **fields,
        registration_number=registered.registration_number,
        person=person,
        category=Category.PKH,
        changed=["birth_date"],
    )
    again = await verval.verified(corrected, seen=1)
    assert (again["registry_outcome"], again["identity_consistent"]) == ("match", True)
    assert again["possible_duplicates"] == []  # the same case verified again is no duplicate


async def test_the_same_person_registered_twice_is_flagged_not_merged(
    verval: Verval, district: Path
) -> None:
    """As when a village edge and the district each register one person during a cut."""
    person = presented_by_defect(district)[""]
    at_village = registered_case(person, Category.PBI_REACTIVATION)
    first = await verval.verified(at_village)
    assert first["possible_duplicates"] == []
    at_district = registered_case(person, Category.PBI_REACTIVATION).model_copy(
        update={"registration_number": "3317-KAB-2611-0007"}
    )
    second = await verval.verified(at_district)
    assert second["case_id"] != first["case_id"]
    assert second["possible_duplicates"] == ["3317012001-2611-0001"]
    assert any(
        "Kemungkinan kasus ganda" in f and "3317012001-2611-0001" in f for f in second["findings"]
    )
    assert person["nik"] not in " ".join(second["findings"])


async def test_the_same_person_twice_in_one_batch_is_flagged_too(
    verval: Verval, district: Path
) -> None:
    """A consumer applies a fetched batch in one transaction: the second case must see the
    first, which is not written yet (no proposal is opened for these, whose lookup would
    have written it)."""
    person = presented_by_defect(district)[""]
    first = registered_case(person, Category.OTHER)
    second = registered_case(person, Category.OTHER).model_copy(
        update={"registration_number": "3317-KAB-2611-0008"}
    )
    async with verval.runtime.sessions() as session:
        one = await service.verify_case(session=session, registered=first, today=date.today())
        two = await service.verify_case(session=session, registered=second, today=date.today())
        await session.commit()
    assert not any("Kemungkinan kasus ganda" in f for f in json.loads(one.findings_json))
    assert any(first.registration_number in f for f in json.loads(two.findings_json))


def test_the_generated_district_has_valid_unique_niks_and_every_defect(district: Path) -> None:
    with (district / "civil.csv").open() as handle:
        civil = list(csv.DictReader(handle))
    niks = [r["nik"] for r in civil]
    assert len(set(niks)) == len(niks)
    for row in civil:
        parse_nik(row["nik"])
        check_kk(row["kk"])
    with (district / "presented.csv").open() as handle:
        presented = list(csv.DictReader(handle))
    defects = Counter(r["defect"] for r in presented)
    assert set(defects) == {"", "nik_typo", "name_variant", "wrong_birth_date", "wrong_birth_place",
                           "duplicated"}  # fmt: skip
    assert all(n >= 3 for n in defects.values()), defects
    known = set(niks)
    twice = [r for r in presented if r["defect"] == "duplicated"]
    assert all(second_nik(r["nik"]) in known for r in twice)


def test_worker_processes_import_exactly_what_one_process_does(
    database_url: str, district: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (district / "civil.csv").read_text().splitlines()
    lines[5] = lines[5].replace(",1,,", ",2,,")  # alive must be 1 or 0
    lines[700] = lines[700][:40]  # cut short
    path = tmp_path / "civil.csv"
    latin1 = lines[-1].replace(",", "\xe9,", 1).encode("latin-1")  # a byte UTF-8 never has
    path.write_bytes(
        "\n".join(lines).encode() + b"\n" + latin1 + b"\n" + lines[-1].encode() + b"\n"
    )
    monkeypatch.setattr(importer, "BLOCK_BYTES", 4096)  # many blocks, so many in flight
    engine = registry_engine(database_url)
    alone = import_csv(engine, Kind.CIVIL, path, workers=0)
    shared = import_csv(engine, Kind.CIVIL, path, workers=2)
    assert (
        alone.errors
        == shared.errors
        == [
            (6, "alive harus 1 atau 0"),
            (701, "baris tidak lengkap"),
            (len(lines) + 1, "bukan teks UTF-8"),
        ]
    )
    assert (alone.rows, alone.rejected) == (shared.rows, shared.rejected) == (len(lines) - 2, 3)
    with engine.connect() as conn:
        one, two = (
            conn.execute(select(snapshot_table(Kind.CIVIL, r.snapshot_id))).all()
            for r in (alone, shared)
        )
    assert one == two
