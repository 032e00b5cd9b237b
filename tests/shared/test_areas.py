"""The bundled Rembang registry and the scope rule built on it."""

import pytest

from shared.areas import DesaPath, UnknownAreaError, load_registry, within


def test_demo_district_is_complete() -> None:
    areas = load_registry()
    assert areas.get("33.17").name == "Kabupaten Rembang"
    assert len(areas.children("33.17")) == 14
    assert sum(len(areas.children(kec.code)) for kec in areas.children("33.17")) == 294


def test_a_known_desa_gives_its_path_and_subject_tokens() -> None:
    path = load_registry().desa("33.17.14.2008")  # Dasun, Lasem
    assert path == DesaPath("33.17", "33.17.14", "33.17.14.2008")
    assert path.subject_tokens() == "3317.331714.3317142008"


@pytest.mark.parametrize("code", ["33.17.99.2001", "33.17.01", "abc", ""])
def test_unknown_or_non_desa_codes_are_refused(code: str) -> None:
    with pytest.raises(UnknownAreaError):
        load_registry().desa(code)


def test_scope_contains_only_its_own_areas() -> None:
    assert within("33.17.01.2001", "33.17.01")
    assert within("33.17.14.2008", "33.17")
    assert within("33.17.14.2008", "33.17.14.2008")
    assert not within("33.17.10.2001", "33.17.01")
    assert not within("33.17.10.2001", "33.17.1")  # a prefix is not a parent
