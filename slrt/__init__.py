"""The `slrt` command: run, provision and inspect the whole system."""
