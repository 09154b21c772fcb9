"""Linking FranceConnect to an existing account mails its owner (ASVS 2.2.3), against the local
OpenID provider and the real SMTP sink."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from desk.mail.sink import MailSink
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.residents.identities import LINKED_MAIL_JOB
from desk.residents.models import Resident, ResidentIdentity
from tests.desk.residents import test_franceconnect as fc
from tests.desk.residents.helpers import log_in, post_form
from tests.desk.residents.oidc_provider import Provider

# The provider, the settings pointing at it and the person's browser towards it, as there.
provider = fc.provider
settings = fc.settings
net = fc.net
SUBJECT = "FranceConnect est maintenant relié à votre compte du guichet des données"


async def test_linking_franceconnect_to_an_account_mails_its_owner(
    client: httpx.AsyncClient,
    net: httpx.AsyncClient,
    provider: Provider,
    worker: Worker,
    mail_sink: MailSink,
) -> None:
    await log_in(client, worker, mail_sink, "maelle@exemple.fr")
    await post_form(client, "/deconnexion", {})
    mail_sink.clear()
    await fc.set_user(provider, "fc-maelle", email="maelle@exemple.fr", email_verified=True)
    assert (await fc.fc_login(client, net, "fc-maelle")).status_code == 303
    await worker.run_until_idle()

    mails = mail_sink.to("maelle@exemple.fr")
    assert [m.subject for m in mails] == [SUBJECT]
    mail = mails[0]
    job = await OutboxJob.get(kind=LINKED_MAIL_JOB)
    identity = await ResidentIdentity.get(subject="fc-maelle")
    assert job.payload["resident_id"] == identity.resident_id  # type: ignore[attr-defined]
    linked = datetime.fromisoformat(job.payload["linked_at"]).astimezone(ZoneInfo("Europe/Paris"))
    # When, in Paris time and French words; what to do if it was not them.
    assert re.search(
        rf"Le \d{{1,2}}(er)? \w+ {linked.year} à {linked:%H:%M}, une identité", mail.text
    )
    assert "Ce n'était pas vous ?" in mail.text
    assert "Se déconnecter de tous les appareils" in mail.text
    assert "Prévenez le guichet" in mail.text
    assert mail.html is not None and "Se déconnecter de tous les appareils" in mail.html
    assert "http://testserver/mon-espace/connexions" in mail.links
    assert "http://testserver/connexion" in mail.links

    # Coming back through FranceConnect, or a first FranceConnect login opening a new account,
    # links nothing to an existing account: no such mail.
    await post_form(client, "/deconnexion", {})
    assert (await fc.fc_login(client, net, "fc-maelle")).status_code == 303
    await post_form(client, "/deconnexion", {})
    await fc.set_user(provider, "fc-new", email="nouveau@exemple.fr", email_verified=True)
    assert (await fc.fc_login(client, net, "fc-new")).status_code == 303
    await worker.run_until_idle()
    assert len(mail_sink.to("maelle@exemple.fr")) == 1
    assert not mail_sink.to("nouveau@exemple.fr")
    assert await OutboxJob.filter(kind=LINKED_MAIL_JOB).count() == 1


async def test_the_mail_follows_the_residents_language(
    client: httpx.AsyncClient,
    net: httpx.AsyncClient,
    provider: Provider,
    worker: Worker,
    mail_sink: MailSink,
) -> None:
    await Resident.create(email="sam@example.org", pseudonym="p-sam", locale="en")
    await fc.set_user(provider, "fc-sam", email="sam@example.org", email_verified=True)
    client.headers["accept-language"] = "en"
    assert (await fc.fc_login(client, net, "fc-sam")).status_code == 303
    await worker.run_until_idle()
    [mail] = mail_sink.to("sam@example.org")
    assert mail.subject == "FranceConnect is now linked to your data desk account"
    assert "Was it not you?" in mail.text and "Log out of all devices" in mail.text
