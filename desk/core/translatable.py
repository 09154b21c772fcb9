"""`N_()`: marks a French string for the translation catalogue where it is defined.

A label kept in a module constant or a dictionary is translated later, where it is shown
(`_(label)` in a template, `translate(label, locale)` in Python). `pybabel extract` finds it
only if it is marked where it is written: `N_("…")` returns its argument unchanged (gettext's
`gettext_noop`), so marking changes nothing at run time. See docs/translation.md.
"""

from __future__ import annotations


def N_(text: str) -> str:  # the name gettext tools look for
    """The text itself: a marker for `pybabel extract`, nothing more."""
    return text


gettext_noop = N_
