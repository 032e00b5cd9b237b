"""Verval: checks each case against the civil registry and DTKS (verifikasi dan validasi)."""
