"""The area registry: province → kabupaten → kecamatan → desa with Kemendagri codes.

Codes are written the Kemendagri way ("33.17.01.2001"). The demo ships Kabupaten Rembang
(codes and names from Kepmendagri 300.2.2-2138/2025); a district loads its own CSV through
`SLRT_AREA_CSV`. Event subjects carry the codes without dots, one token per level.
"""

import csv
from dataclasses import dataclass
from datetime import timedelta, timezone
from functools import cache
from importlib import resources
from pathlib import Path

DEMO_AREA_CSV = "areas_rembang.csv"
# The demo district's time zone (Rembang, Central Java); Indonesia keeps no daylight saving.
# Working days, due times and report months are counted in it.
WIB = timezone(timedelta(hours=7), "WIB")


def compact_code(code: str) -> str:
    """`33.17.01.2001` → `3317012001`: as subjects, registration numbers and usernames write it."""
    return code.replace(".", "")


def within(inner_code: str, area_code: str) -> bool:
    """Whether `inner_code` lies in (or is) `area_code`: the test of an operator's scope."""
    return inner_code == area_code or inner_code.startswith(area_code + ".")


class UnknownAreaError(ValueError):
    """A code that is not in the registry."""


@dataclass(frozen=True)
class Area:
    code: str
    name: str

    @property
    def level(self) -> str:
        return ("provinsi", "kabupaten", "kecamatan", "desa")[self.code.count(".")]

    @property
    def parent_code(self) -> str | None:
        return self.code.rsplit(".", 1)[0] if "." in self.code else None


@dataclass(frozen=True)
class DesaPath:
    """A desa with the kecamatan and kabupaten it lies in, as events carry them."""

    kabupaten: str
    kecamatan: str
    desa: str

    @classmethod
    def of(cls, desa_code: str) -> "DesaPath":
        parts = desa_code.split(".")
        if len(parts) != 4:
            raise UnknownAreaError(f"Kode desa harus 4 bagian (contoh 33.17.01.2001): {desa_code}")
        return cls(".".join(parts[:2]), ".".join(parts[:3]), desa_code)

    def subject_tokens(self) -> str:
        """`3317.331701.3317012001`: the kabupaten, kecamatan and desa tokens of a subject."""
        return ".".join(compact_code(code) for code in (self.kabupaten, self.kecamatan, self.desa))


class AreaRegistry:
    """All known areas, looked up by code; refuses what it does not know."""

    def __init__(self, areas: list[Area]) -> None:
        self._by_code = {area.code: area for area in areas}

    @classmethod
    def from_csv(cls, path: Path) -> "AreaRegistry":
        with path.open(newline="", encoding="utf-8") as handle:
            return cls(
                [Area(row["code"].strip(), row["name"].strip()) for row in csv.DictReader(handle)]
            )

    def get(self, code: str) -> Area:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownAreaError(f"Kode wilayah {code} tidak dikenal") from None

    def desa(self, code: str) -> DesaPath:
        """The path of a known desa; raises UnknownAreaError for anything else."""
        if self.get(code).level != "desa":
            raise UnknownAreaError(f"Kode {code} bukan kode desa/kelurahan")
        return DesaPath.of(code)

    def kabupaten(self) -> list[Area]:
        return [area for area in self._by_code.values() if area.level == "kabupaten"]

    def children(self, code: str) -> list[Area]:
        return [area for area in self._by_code.values() if area.parent_code == code]

    def __len__(self) -> int:
        return len(self._by_code)


@cache
def load_registry(path: Path | None = None) -> AreaRegistry:
    """The configured registry, or the bundled demo district."""
    if path is not None:
        return AreaRegistry.from_csv(path)
    with resources.as_file(resources.files("shared") / "data" / DEMO_AREA_CSV) as demo:
        return AreaRegistry.from_csv(demo)
