"""Referral: the district SLRT secretariat refers cases to programs and agencies."""
