"""How signatories answer, in figures: statistics, snapshots, charts, the annual report and
open data (the charter's public transparency pages)."""
