"""The national default routes: every category goes somewhere, never nowhere."""

import pytest

from services.referral.domain import ALL_DESTINATIONS, DEFAULT_ROUTES, TRIAGE, route
from shared.contracts import Category


@pytest.mark.parametrize("category", list(Category))
def test_every_category_has_a_known_destination(category: Category) -> None:
    destinations = route(category, identity_consistent=True)
    assert destinations, category
    assert all(d.code in ALL_DESTINATIONS for d in destinations)
    assert destinations == DEFAULT_ROUTES[category]


@pytest.mark.parametrize("category", list(Category))
def test_an_identity_to_correct_goes_to_triage_first(category: Category) -> None:
    assert route(category, identity_consistent=False) == (TRIAGE,)


def test_an_emergency_goes_to_the_hospital_and_to_health_cover() -> None:
    codes = [d.code for d in route(Category.HEALTH_EMERGENCY, identity_consistent=True)]
    assert codes == ["rumah_sakit", "bpjs_dinkes"]
