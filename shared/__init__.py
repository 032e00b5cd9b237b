"""What every slrt service must agree on: event contracts, messaging runtime, settings, logging."""
