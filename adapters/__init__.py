"""Adapters: the channels that carry deliveries to signatories (entry-point group desk.adapters)."""
