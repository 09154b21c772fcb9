"""The directory of digital-help points: what staff type, checked in French, and what the public
reads. Keyword-only async functions, no HTTP objects; every change is audited (staff id only).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.helppoints.assignment import carry_rename
from desk.helppoints.models import HelpPoint

log = logging.getLogger("desk.helppoints")

# What the form accepts: the columns' widths, and sizes a real help point never exceeds.
NAME_MAX = 200
STREET_MAX = 200
CITY_MAX = 100
HOURS_MAX = 1000
ACCESSIBILITY_MAX = 1000
LANGUAGES_MAX = 20
LANGUAGE_MAX = 60
PHONE_DIGITS = 10

NOT_FOUND = N_("Ce point d'aide est introuvable.")
# The maxima above, spelt out: the English catalogue translates each sentence as it is.
BAD_NAME = N_("Indiquez le nom du point d'aide (200 caractères au plus).")
BAD_STREET = N_("Indiquez le numéro et la rue du point d'aide (200 caractères au plus).")
BAD_POSTCODE = N_("Le code postal est fait de 5 chiffres (par exemple 29200).")
BAD_CITY = N_("Indiquez la commune du point d'aide (100 caractères au plus).")
BAD_HOURS = N_(
    "Indiquez les horaires d'ouverture, une ligne par jour ou par période (par exemple "
    "« lundi et jeudi : 9 h – 12 h »), en 1 000 caractères au plus."
)
BAD_ACCESSIBILITY = N_("Le texte sur l'accessibilité est trop long (1 000 caractères au plus).")
BAD_PHONE = N_(
    "Le numéro de téléphone n'est pas un numéro français à 10 chiffres (par exemple "
    "02 98 00 00 00). Corrigez-le, ou laissez le champ vide."
)
SAME_NAME = N_(
    "Un point d'aide porte déjà ce nom dans l'annuaire : modifiez sa fiche, ou précisez le nom "
    "(par exemple avec le quartier)."
)
BAD_LANGUAGES = N_(
    "Indiquez au plus 20 langues, séparées par des virgules, chacune en 60 caractères au plus."
)

_POSTCODE = re.compile(r"\d{5}")
# A French number written as people write it: 02 98 00 00 00, 02.98.00.00.00, +33 2 98...
_PHONE_SEPARATORS = re.compile(r"[\s.\-]")


@dataclass
class HelpPointForm:
    """What staff typed: kept as typed, so a refused form comes back filled in."""

    name: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    opening_hours: str = ""
    phone: str = ""
    accessibility: str = ""
    languages: str = ""
    published: bool = True


@dataclass(frozen=True)
class CheckedHelpPoint:
    name: str
    street: str
    postcode: str
    city: str
    opening_hours: str
    phone: str
    accessibility: str
    languages: list[str] = field(default_factory=list)
    published: bool = True


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _lines(value: str) -> str:
    rows = [" ".join(line.split()) for line in value.replace("\r\n", "\n").split("\n")]
    return "\n".join(row for row in rows if row)


def normalise_phone(raw: str) -> str:
    """ "02.98.00.00.00" or "+33 2 98 00 00 00" → "02 98 00 00 00"; "" stays ""."""
    bare = _PHONE_SEPARATORS.sub("", raw)
    if not bare:
        return ""
    if bare.startswith("+33"):
        bare = "0" + bare[3:]
    if len(bare) != PHONE_DIGITS or not bare.isascii() or not bare.isdigit() or bare[0] != "0":
        raise DeskError(BAD_PHONE, code="invalid")
    return " ".join(bare[i : i + 2] for i in range(0, PHONE_DIGITS, 2))


def parse_languages(raw: str) -> list[str]:
    """ "français, breton ; arabe" → ["français", "breton", "arabe"] (doubles dropped)."""
    found: dict[str, None] = {}
    for piece in re.split(r"[,;\n]", raw):
        name = _one_line(piece)
        if name:
            found.setdefault(name, None)
    languages = list(found)
    if len(languages) > LANGUAGES_MAX or any(len(x) > LANGUAGE_MAX for x in languages):
        raise DeskError(BAD_LANGUAGES, code="invalid")
    return languages


def check(form: HelpPointForm) -> CheckedHelpPoint:
    """The form, checked: the first problem found, as a French sentence (DeskError)."""
    name = _one_line(form.name)
    street = _one_line(form.street)
    postcode = form.postcode.strip()
    city = _one_line(form.city)
    hours = _lines(form.opening_hours)
    accessibility = _lines(form.accessibility)
    for wrong, message in (
        (not name or len(name) > NAME_MAX, BAD_NAME),
        (not street or len(street) > STREET_MAX, BAD_STREET),
        (not _POSTCODE.fullmatch(postcode) or not postcode.isascii(), BAD_POSTCODE),
        (not city or len(city) > CITY_MAX, BAD_CITY),
        (not hours or len(hours) > HOURS_MAX, BAD_HOURS),
        (len(accessibility) > ACCESSIBILITY_MAX, BAD_ACCESSIBILITY),
    ):
        if wrong:
            raise DeskError(message, code="invalid")
    return CheckedHelpPoint(
        name=name,
        street=street,
        postcode=postcode,
        city=city.upper(),
        opening_hours=hours,
        phone=normalise_phone(form.phone),
        accessibility=accessibility,
        languages=parse_languages(form.languages),
        published=form.published,
    )


def slug_of(name: str) -> str:
    """ "Maison de quartier de Kérinou" → "maison-de-quartier-de-kerinou"."""
    decomposed = unicodedata.normalize("NFKD", name.lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", bare).strip("-")
    return slug[:70] or "point-d-aide"


async def _free_slug(name: str, *, own_id: int | None = None) -> str:
    base = slug_of(name)
    candidate, n = base, 1
    while await HelpPoint.filter(slug=candidate).exclude(id=own_id or 0).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def form_of(point: HelpPoint) -> HelpPointForm:
    return HelpPointForm(
        name=point.name,
        street=point.street,
        postcode=point.postcode,
        city=point.city,
        opening_hours=point.opening_hours,
        phone=point.phone,
        accessibility=point.accessibility,
        languages=", ".join(point.languages or []),
        published=point.published,
    )


def _values(checked: CheckedHelpPoint) -> dict[str, object]:
    return {
        "name": checked.name,
        "street": checked.street,
        "postcode": checked.postcode,
        "city": checked.city,
        "opening_hours": checked.opening_hours,
        "phone": checked.phone,
        "accessibility": checked.accessibility,
        "languages": checked.languages,
        "published": checked.published,
    }


async def _check_name_free(name: str, *, own_id: int | None = None) -> None:
    # Mediators' accounts and letters name their help point: one name, one place.
    if await HelpPoint.filter(name=name).exclude(id=own_id or 0).exists():
        raise DeskError(SAME_NAME, code="conflict")


async def create_help_point(*, form: HelpPointForm, actor: str) -> HelpPoint:
    checked = check(form)
    await _check_name_free(checked.name)
    try:
        async with in_transaction() as conn:
            point = await HelpPoint.create(
                slug=await _free_slug(checked.name), using_db=conn, **_values(checked)
            )
            await record_action(
                action="helppoint.created", actor=actor, subject=f"help_point:{point.id}",
                connection=conn,
            )  # fmt: skip
    except IntegrityError as exc:  # the same name saved twice at once: its slug is taken
        raise DeskError(SAME_NAME, code="conflict") from exc
    log.info("help point %s created by %s", point.id, actor)
    return point


async def update_help_point(*, help_point_id: int, form: HelpPointForm, actor: str) -> HelpPoint:
    checked = check(form)
    await _check_name_free(checked.name, own_id=help_point_id)
    async with in_transaction() as conn:
        point = await HelpPoint.filter(id=help_point_id).using_db(conn).first()
        if point is None:
            raise DeskError(NOT_FOUND, code="not_found")
        changed = sorted(k for k, v in _values(checked).items() if getattr(point, k) != v)
        # Accounts and live mandates name their point: a rename reaches them in this transaction.
        carried = await carry_rename(
            old=point.name, new=checked.name, now=clock.now(), connection=conn
        )
        point.update_from_dict(_values(checked))
        await point.save(using_db=conn)
        await record_action(
            action="helppoint.updated", actor=actor, subject=f"help_point:{point.id}",
            detail={"fields": changed, "renamed_in": carried}, connection=conn,
        )  # fmt: skip
    log.info("help point %s updated by %s", point.id, actor)
    return point


async def help_point(*, help_point_id: int) -> HelpPoint:
    point = await HelpPoint.filter(id=help_point_id).first()
    if point is None:
        raise DeskError(NOT_FOUND, code="not_found")
    return point


async def all_help_points() -> list[HelpPoint]:
    """Every help point, published or not (the back office's list)."""
    return await HelpPoint.all().order_by("city", "name", "id")


async def published_help_points(*, city: str = "", language: str = "") -> list[HelpPoint]:
    """The public directory, by town then name; `city`, `language`: narrow it down."""
    points = await HelpPoint.filter(published=True).order_by("city", "name", "id")
    if city:
        points = [p for p in points if p.city == city]
    if language:
        wanted = language.casefold()
        points = [p for p in points if any(x.casefold() == wanted for x in p.languages or [])]
    return points


async def directory_choices() -> tuple[list[str], list[str]]:
    """The towns and the languages of the published points, for the directory's filters."""
    points = await HelpPoint.filter(published=True)
    cities = sorted({p.city for p in points})
    languages = sorted({x for p in points for x in p.languages or []}, key=str.casefold)
    return cities, languages


async def by_name(*, name: str) -> HelpPoint | None:
    """The published directory entry a mediator's help point names, if any."""
    if not name.strip():
        return None
    return await HelpPoint.filter(name=name.strip(), published=True).first()
