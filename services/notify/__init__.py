"""Notify: tells citizens (and their village office) what happened to their case."""
