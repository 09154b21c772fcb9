"""The desk: residents' personal-data rights under the Brest-area data charter."""

from __future__ import annotations

__version__ = "0.1.0"
