"""The built-in text a citizen would read about an event (no district template in play)."""

from services.notify.messages import KINDS, message_for, render
from shared.contracts import CaseRegistered, Event


def built_in_text(event: Event, registration_number: str | None = None) -> str | None:
    if registration_number is None:
        assert isinstance(event, CaseRegistered)
        registration_number = event.registration_number
    message = message_for(event, registration_number=registration_number)
    return render(KINDS[message.kind].default, message.values) if message else None
