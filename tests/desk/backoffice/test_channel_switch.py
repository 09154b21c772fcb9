"""The back office's channel switch goes through the validated channel configuration."""

from __future__ import annotations

import httpx

from desk.audit.models import AuditRecord
from desk.core import crypto
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.models import Signatory
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from desk.settings import Settings
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.factories import make_resident, make_signatory


async def _failed_delivery(worker: Worker) -> tuple[Signatory, Delivery]:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    signatory.adapter_settings = {"mailbox": ""}  # no mailbox: the email delivery dies
    await signatory.save()
    resident = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await worker.run_until_idle()
    delivery = await Delivery.get(request_id=request.id)
    assert delivery.state == DeliveryState.FAILED
    return signatory, delivery


async def test_an_invalid_setting_is_refused_in_french_and_a_valid_switch_is_audited(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, settings: Settings
) -> None:
    signatory, failed = await _failed_delivery(worker)
    staff = await staff_log_in(client, worker, mail_sink)
    url = f"/back-office/envois/{failed.id}/canal"

    refused = await post_form(
        client, url, {"channel": "webhook", "settings": "url=ftp://partenaire.exemple.fr/hook"}
    )
    assert refused.status_code == 422
    assert "Réglages du connecteur « webhook » refusés" in text(refused)
    unclear = await post_form(client, url, {"channel": "webhook", "settings": "url"})
    assert unclear.status_code == 422
    assert "écrivez clé=valeur" in text(unclear)
    assert (await Delivery.get(id=failed.id)).channel is None
    assert not await AuditRecord.filter(action="partner.channel_configured").exists()

    switched = await post_form(
        client,
        url,
        {"channel": "webhook", "settings": "url=https://partenaire.exemple.fr/hook"},
    )
    assert switched.status_code == 200
    page = text(switched)
    assert "Le canal d'envoi est changé et l'envoi est relancé." in page
    assert "transmettez-le au partenaire" in page
    delivery = await Delivery.get(id=failed.id)
    assert delivery.channel == "webhook" and delivery.state == DeliveryState.PENDING
    record = await AuditRecord.get(action="partner.channel_configured")
    assert record.actor == f"staff:{staff.id}"
    assert record.subject == f"signatory:{signatory.id}"
    assert record.detail["delivery_id"] == failed.id and record.detail["adapter"] == "webhook"
    # The signatory keeps its own channel; the webhook secret is stored encrypted only.
    stored = await Signatory.get(id=signatory.id)
    assert stored.adapter == "email" and stored.adapter_settings["mailbox"] == ""
    secrets = stored.adapter_settings["secrets"]
    assert isinstance(secrets, list)
    (secret,) = secrets
    assert crypto.is_encrypted(secret)
    assert crypto.decrypt(settings.secret_key, secret) in page
    change = await DeliveryEvent.get(delivery_id=failed.id, action="channel_changed")
    assert change.actor == f"staff:{staff.id}"
