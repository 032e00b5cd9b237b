"""Intake's web pages for village operators: sign in, register, list and read cases."""
