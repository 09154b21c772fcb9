"""The floor of the house: pieces every domain may use and that import no domain."""
