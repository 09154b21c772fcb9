"""A few demo help points, created through the directory's own service (`desk seed`)."""

from __future__ import annotations

from desk.helppoints.models import HelpPoint
from desk.helppoints.services import HelpPointForm, create_help_point

# Invented places in real neighbourhoods: the demo must not send anyone to a real desk.
DEMO_HELP_POINTS = (
    HelpPointForm(
        name="Point d'aide numérique de Bellevue (démo)",
        street="1 place de la Démonstration",
        postcode="29200",
        city="Brest",
        opening_hours="lundi et jeudi : 9 h – 12 h\nmercredi : 14 h – 18 h",
        phone="02 98 00 00 01",
        accessibility="Accès de plain-pied\nBoucle magnétique à l'accueil",
        languages="français, breton, arabe",
    ),
    HelpPointForm(
        name="Maison de quartier de Recouvrance (démo)",
        street="2 rue de l'Exemple",
        postcode="29200",
        city="Brest",
        opening_hours="mardi : 9 h – 12 h et 14 h – 17 h\nsamedi : 10 h – 12 h",
        phone="02 98 00 00 02",
        accessibility="Ascenseur ; place de stationnement réservée devant l'entrée",
        languages="français, anglais, langue des signes française",
    ),
    HelpPointForm(
        name="Mairie de Guipavas — accueil numérique (démo)",
        street="3 rue du Guichet",
        postcode="29490",
        city="Guipavas",
        opening_hours="du lundi au vendredi : 8 h 30 – 12 h",
        phone="",
        accessibility="Accès de plain-pied",
        languages="français",
    ),
)


async def seed_help_points() -> int:
    """Create the demo help points that are missing (found by name); return how many were."""
    created = 0
    for form in DEMO_HELP_POINTS:
        if not await HelpPoint.exists(name=form.name):
            await create_help_point(form=form, actor="system")
            created += 1
    return created
