"""The demo: the Brest-area register seeded for `desk seed` / `desk demo`, and a reference
partner server standing in for a signatory's system. Not needed to run the desk."""
