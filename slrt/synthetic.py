"""A synthetic district: civil registry, DTKS and program memberships, with known defects.

No real person is in it. Names come from Faker's `id_ID` locale, NIK and KK follow their
real structure (kecamatan of issue, birth date with +40 for women, serial), households live
in the area registry's desa. Besides the registry extracts it writes `presented.csv`: people
as they would present themselves at a village desk, some with the defects villages meet
(a NIK typo, a name spelled another way, a wrong birth date or birth place), and the ground
truth of each. Some people are in the civil registry twice, under a second NIK (`duplicated`
in presented.csv), as when Dukcapil issued a new NIK without retiring the old one.

The life events verval turns into DTKS corrections are in it too: heads of household who
died, DTKS households whose KK Dukcapil has since renewed (DTKS still holds the old number),
and people of 17 and over who never recorded their e-KTP.

    slrt generate --people 10000 --out var/registry [--seed 7]
"""

import csv
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from services.verval.importer import columns
from services.verval.registry import Kind
from shared.areas import AreaRegistry, compact_code

CIVIL_COLUMNS, DTKS_COLUMNS = columns(Kind.CIVIL), columns(Kind.DTKS)
PROGRAM_COLUMNS = columns(Kind.PROGRAMS)
PRESENTED_COLUMNS = ["nik", "name", "sex", "birth_place", "birth_date", "desa_code", "defect",
                     "true_nik"]  # fmt: skip

# How often each defect appears among presented people (the rest are correct).
DEFECT_RATES = {"nik_typo": 0.03, "name_variant": 0.03, "wrong_birth_date": 0.03,
                "wrong_birth_place": 0.03}  # fmt: skip
DUPLICATE_RATE = 0.01  # living people with a second NIK in the civil registry
RENEWED_KK_RATE = 0.03  # DTKS households whose KK Dukcapil renewed since DTKS was ratified
NO_EKTP_RATE = 0.03  # people of 17 and over who never recorded their e-KTP
# Where people of the district were born besides the kabupaten itself.
OTHER_BIRTH_PLACES = ["Semarang", "Pati", "Blora", "Kudus", "Surabaya", "Jakarta", "Tuban"]
NAME_VARIANTS = {
    "Muhammad": ["Muhamad", "Moh.", "Mochammad"],
    "Siti": ["Sity"],
    "Nur": ["Nurul"],
    "Ahmad": ["Achmad", "Akhmad"],
}


@dataclass
class Person:
    nik: str
    kk: str
    name: str
    sex: str
    birth_place: str
    birth_date: date
    desa_code: str
    address: str
    relationship: str = "ANAK"  # to the head of household, as on the KK
    ektp: bool = True  # recorded their e-KTP (from 17)
    alive: bool = True
    death_date: date | None = None


@dataclass
class Household:
    kk: str
    desa_code: str
    members: list[Person] = field(default_factory=list)
    desil: int | None = None  # in DTKS when set: 1 poorest ... 4
    dtks_kk: str = ""  # the KK number DTKS holds for it (an older one when renewed)


class Generator:
    def __init__(self, areas: AreaRegistry, seed: int = 7, today: date | None = None) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("id_ID")
        self.faker.seed_instance(seed)
        self.today = today or date(2026, 11, 1)
        self.desa = [
            d.code
            for k in areas.kabupaten()
            for c in areas.children(k.code)
            for d in areas.children(c.code)
        ]
        self.serials: dict[str, int] = defaultdict(int)
        self.home_town = {
            k.code: k.name.removeprefix("Kabupaten ").removeprefix("Kota ")
            for k in areas.kabupaten()
        }

    def _number(self, prefix: str) -> str:
        """A 16-digit number with a 4-digit serial unique for its first 12 digits."""
        self.serials[prefix] += 1
        return f"{prefix}{self.serials[prefix] % 10000:04d}"

    def _person(
        self, desa: str, kk: str, born: date, female: bool, surname: str, address: str
    ) -> Person:
        day = born.day + (40 if female else 0)
        nik = self._number(f"{compact_code(desa)[:6]}{day:02d}{born:%m%y}")
        first = self.faker.first_name_female() if female else self.faker.first_name_male()
        if not female and self.rng.random() < 0.15:
            first = self.rng.choice(["Muhammad", "Ahmad"])
        if female and self.rng.random() < 0.1:
            first = f"Siti {first}"
        name = first if self.rng.random() < 0.35 else f"{first} {surname}"
        sex = "P" if female else "L"
        adult = (self.today - born).days >= 17 * 365
        ektp = not adult or self.rng.random() >= NO_EKTP_RATE
        return Person(nik, kk, name, sex, self._birth_place(desa), born, desa, address, ektp=ektp)

    def _birth_place(self, desa: str) -> str:
        if self.rng.random() < 0.8:
            return self.home_town[desa[:5]]
        return self.rng.choice(OTHER_BIRTH_PLACES)

    def household(self) -> Household:
        desa = self.rng.choice(self.desa)
        issued = self.today - timedelta(days=self.rng.randrange(1, 365 * 15))
        kk = self._number(f"{compact_code(desa)[:6]}{issued:%d%m%y}")
        home = Household(kk, desa)
        surname = self.faker.last_name()
        address = f"RT {self.rng.randint(1, 9):03d}/RW {self.rng.randint(1, 5):03d}"
        head_born = self.today - timedelta(days=self.rng.randrange(365 * 22, 365 * 75))
        home.members.append(self._person(desa, kk, head_born, False, surname, address))
        home.members[0].relationship = "KEPALA KELUARGA"
        if self.rng.random() < 0.8:
            spouse_born = head_born + timedelta(days=self.rng.randrange(-2000, 2000))
            home.members.append(self._person(desa, kk, spouse_born, True, surname, address))
            home.members[-1].relationship = "ISTRI"
        for _ in range(self.rng.choice([0, 1, 2, 2, 3, 4])):
            child_born = self.today - timedelta(days=self.rng.randrange(200, 365 * 20))
            home.members.append(
                self._person(desa, kk, child_born, self.rng.random() < 0.5, surname, address)
            )
        if self.rng.random() < 0.03:  # the head died; the KK was never updated (stale KK)
            head = home.members[0]
            head.alive = False
            head.death_date = self.today - timedelta(days=self.rng.randrange(30, 900))
        if self.rng.random() < 0.4:
            home.desil = self.rng.choice([1, 1, 2, 2, 3, 4])
            home.dtks_kk = kk
            if self.rng.random() < RENEWED_KK_RATE:  # Dukcapil issued a new KK since
                home.kk = self._number(f"{compact_code(desa)[:6]}{self.today:%d%m%y}")
                for member in home.members:
                    member.kk = home.kk
        return home

    def households(self, people: int) -> Iterator[Household]:
        made = 0
        while made < people:
            home = self.household()
            made += len(home.members)
            yield home

    def memberships(self, home: Household) -> Iterator[list[object]]:
        """Program rows: PBI-JK for DTKS households (some deactivated), PKH, BPNT, PIP for
        schoolchildren, and self-paid BPJS with arrears for some households outside DTKS."""
        in_dtks = home.desil is not None
        pkh, bpnt = in_dtks and self.rng.random() < 0.3, in_dtks and self.rng.random() < 0.45
        for person in home.members:
            since = (self.today - timedelta(days=self.rng.randrange(30, 2000))).isoformat()
            if in_dtks:
                active = self.rng.random() < 0.8
                yield [person.nik, "PBI-JK", int(active), since, "PBI", 0]
            elif self.rng.random() < 0.2:
                arrears = self.rng.choice([0, 0, 350_000, 1_200_000])
                yield [person.nik, "JKN", int(arrears == 0), since, "PBPU", arrears]
            age = (self.today - person.birth_date).days // 365
            if in_dtks and 6 <= age <= 18 and self.rng.random() < 0.6:
                yield [person.nik, "PIP", 1, since, "", 0]
        head = home.members[0]
        since = (self.today - timedelta(days=self.rng.randrange(30, 2000))).isoformat()
        if pkh:
            yield [head.nik, "PKH", 1, since, "", 0]
        if bpnt:
            yield [head.nik, "BPNT", 1, since, "", 0]

    def presented(self, person: Person) -> list[object]:
        """How this person writes themselves down at the desk, maybe with a defect."""
        roll, threshold = self.rng.random(), 0.0
        for defect, rate in DEFECT_RATES.items():
            threshold += rate
            if roll < threshold:
                return self._with_defect(person, defect)
        return presented_row(person, person.nik, "")

    def _with_defect(self, person: Person, defect: str) -> list[object]:
        nik, name, born, place = person.nik, person.name, person.birth_date, person.birth_place
        if defect == "nik_typo":
            position = self.rng.randrange(12, 16)  # the serial: the rest stays a valid NIK
            digit = str((int(nik[position]) + self.rng.randint(1, 9)) % 10)
            nik = nik[:position] + digit + nik[position + 1 :]
            if nik[12:] == "0000":
                nik = nik[:15] + "1"
        elif defect == "name_variant":
            first, _, rest = name.partition(" ")
            variant = self.rng.choice(NAME_VARIANTS.get(first, [first + "h"]))
            name = f"{variant} {rest}".strip()
        elif defect == "wrong_birth_place":
            place = self.rng.choice([t for t in OTHER_BIRTH_PLACES if t != place])
        else:
            born = born + timedelta(days=self.rng.choice([-31, -1, 1, 365]))
        return [nik, name, person.sex, place, born.isoformat(), person.desa_code, defect,
                person.nik]  # fmt: skip


def presented_row(p: Person, nik: str, defect: str) -> list[object]:
    return [nik, p.name, p.sex, p.birth_place, p.birth_date.isoformat(), p.desa_code, defect,
            p.nik]  # fmt: skip


def civil_row(p: Person, nik: str) -> list[object]:
    return [nik, p.kk, p.name, p.sex, p.birth_place, p.birth_date, p.address, p.desa_code,
            int(p.alive), p.death_date or "", p.relationship, int(p.ektp)]  # fmt: skip


def second_nik(nik: str) -> str:
    """Another valid NIK for the same birth date and kecamatan (serials 5000 and up)."""
    return f"{nik[:12]}{5000 + int(nik[12:]) % 5000:04d}"


def generate(areas: AreaRegistry, people: int, out: Path, seed: int = 7) -> dict[str, int]:
    """Write civil.csv, dtks.csv, programs.csv and presented.csv for `people` people."""
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(areas, seed)
    counts = {"people": 0, "dtks": 0, "programs": 0}
    with (
        (out / "civil.csv").open("w", newline="") as civil_file,
        (out / "dtks.csv").open("w", newline="") as dtks_file,
        (out / "programs.csv").open("w", newline="") as programs_file,
        (out / "presented.csv").open("w", newline="") as presented_file,
    ):
        civil, dtks = csv.writer(civil_file), csv.writer(dtks_file)
        programs, presented = csv.writer(programs_file), csv.writer(presented_file)
        civil.writerow(CIVIL_COLUMNS)
        dtks.writerow(DTKS_COLUMNS)
        programs.writerow(PROGRAM_COLUMNS)
        presented.writerow(PRESENTED_COLUMNS)
        for home in gen.households(people):
            for p in home.members:
                civil.writerow(civil_row(p, nik=p.nik))
                counts["people"] += 1
                if home.desil is not None:
                    dtks.writerow(
                        [
                            f"DTKS{p.nik[:6]}{counts['dtks']:09d}",
                            p.nik,
                            home.dtks_kk,
                            home.desil,
                            "2026-01-15",
                        ]
                    )
                    counts["dtks"] += 1
                if p.alive and gen.rng.random() < DUPLICATE_RATE:
                    civil.writerow(civil_row(p, nik=second_nik(p.nik)))
                    counts["people"] += 1
                    presented.writerow(presented_row(p, p.nik, "duplicated"))
                elif p.alive:
                    presented.writerow(gen.presented(p))
            for row in gen.memberships(home):
                programs.writerow(row)
                counts["programs"] += 1
    return counts
