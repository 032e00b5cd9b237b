"""Intake: the village Puskesos front and back office, where a citizen's case is registered."""
