"""Life events as DTKS corrections: the rules, without a database."""

from dataclasses import replace
from datetime import date

from services.verval.life_events import (
    age_on,
    born_by,
    death,
    household_events,
    left_district,
    moved_within,
    successor,
)
from services.verval.proposals import Kind
from services.verval.registry import CivilRecord

TODAY = date(2026, 11, 24)
OLD_KK, NEW_KK = "3317010101200001", "3317012411260001"


def person(nik: str, relationship: str, born: date, **changes: object) -> CivilRecord:
    fields: dict[str, object] = dict(
        nik=nik, kk=OLD_KK, name=f"Warga {nik[-2:]}", sex="L",
        birth_place="Rembang", birth_date=born, address="RT 001/RW 001",
        desa_code="33.17.01.2001", alive=True, relationship=relationship, ektp=True,
    )  # fmt: skip
    return CivilRecord(**(fields | changes))


HEAD = person("3317010101700001", "KEPALA KELUARGA", date(1970, 1, 1))
WIFE = person("3317014202720001", "ISTRI", date(1972, 2, 2))
SON = person("3317010303000001", "ANAK", date(2000, 3, 3))
GIRL = person("3317014404150001", "ANAK", date(2015, 4, 4))


def test_the_spouse_heads_the_family_then_the_eldest_adult_never_a_child() -> None:
    dead = replace(HEAD, alive=False)
    assert successor([dead, SON, WIFE, GIRL], TODAY) is WIFE
    assert successor([dead, GIRL, SON], TODAY) is SON
    assert successor([dead, GIRL], TODAY) is None


def test_the_heads_death_names_a_new_head_and_keeps_the_family_programs() -> None:
    dead = replace(HEAD, alive=False, death_date=date(2026, 9, 1))
    event = death(dead, [dead, WIFE, SON], ["PKH", "BPNT"], TODAY)
    assert (event.kind, event.nik, event.key) == (Kind.CORRECTION, WIFE.nik, f"kepala:{HEAD.nik}")
    assert "01-09-2026" in event.reason and WIFE.name in event.reason
    assert "PKH, BPNT" in event.reason and "tetap" in event.reason


def test_a_death_with_nobody_to_head_the_family_or_of_a_member_is_a_removal() -> None:
    alone = replace(HEAD, alive=False)
    orphaned = death(alone, [alone, GIRL], ["PKH"], TODAY)
    assert (orphaned.kind, orphaned.nik) == (Kind.REMOVAL, HEAD.nik)
    son = replace(SON, alive=False)
    assert death(son, [HEAD, son], [], TODAY).kind is Kind.REMOVAL


def test_a_renewed_kk_is_one_correction_for_the_household_in_the_heads_name() -> None:
    renewed = [replace(m, kk=NEW_KK) for m in (SON, HEAD, WIFE)]
    events = household_events(OLD_KK, renewed, [], [], TODAY)
    assert [(e.kind, e.nik, e.key) for e in events] == [
        (Kind.CORRECTION, HEAD.nik, f"kk:{OLD_KK}:{NEW_KK}")
    ]
    assert household_events(OLD_KK, [HEAD, WIFE], [], [], TODAY) == []


def test_seventeen_without_an_e_ktp_needs_recording_the_day_they_turn_seventeen() -> None:
    turning = person("3317012411090001", "ANAK", date(2009, 11, 24), ektp=False)
    (event,) = household_events(OLD_KK, [turning], [], [], TODAY)
    assert (event.kind, event.key) == (Kind.CORRECTION, f"ektp:{turning.nik}")
    assert "17 tahun" in event.reason
    tomorrow = replace(turning, birth_date=date(2009, 11, 25))
    unknown = replace(turning, ektp=None)  # the extract does not say
    assert household_events(OLD_KK, [tomorrow, unknown], [], [], TODAY) == []


def test_ages_and_the_adult_birth_date_on_a_leap_day() -> None:
    assert age_on(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 3, 1)) == 17
    assert born_by(date(2028, 2, 29)) == date(2011, 2, 28)
    assert born_by(TODAY) == date(2009, 11, 24)


def test_who_left_the_district_is_proposed_for_removal_here() -> None:
    event = left_district(SON.nik, SON)
    assert (event.kind, event.nik, event.key) == (Kind.REMOVAL, SON.nik, f"pindah:{SON.nik}")
    assert SON.name in event.reason


def test_a_family_that_moved_within_the_district_is_one_correction_for_its_new_village() -> None:
    movers = [replace(m, desa_code="33.17.02.2003") for m in (WIFE, HEAD)]
    event = moved_within(OLD_KK, movers, "Sumbermulyo")
    assert (event.kind, event.nik) == (Kind.CORRECTION, HEAD.nik)
    assert event.key == f"pindah-desa:{OLD_KK}:33.17.02.2003"
    assert "pindah dari desa Sumbermulyo" in event.reason
