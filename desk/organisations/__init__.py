"""The signatory's own space: its people, declarations and inbox."""
