from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from desk.mediation.models import IdentityCheck
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_charter')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AssistedSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mediator', fields.ForeignKeyField('models.StaffMember', source_field='mediator_id', db_constraint=True, to_field='id', related_name='assisted_sessions', on_delete=OnDelete.RESTRICT)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='assisted_sessions', on_delete=OnDelete.CASCADE)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('identity_check', fields.CharEnumField(description='DOCUMENT_SHOWN: document_shown\nKNOWN_TO_HELP_POINT: known_to_help_point\nFRANCECONNECT_ON_SITE: franceconnect_on_site', enum_type=IdentityCheck, max_length=32)),
            ],
            options={'table': 'assisted_session', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One meeting at a help point: the resident is present and their identity was checked.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AssistedFiling',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.OneToOneField('models.RightsRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='assisted_filing', on_delete=OnDelete.CASCADE)),
                ('session', fields.ForeignKeyField('models.AssistedSession', source_field='session_id', db_constraint=True, to_field='id', related_name='filings', on_delete=OnDelete.CASCADE)),
                ('mediator', fields.ForeignKeyField('models.StaffMember', source_field='mediator_id', db_constraint=True, to_field='id', related_name='filings', on_delete=OnDelete.RESTRICT)),
                ('help_point', fields.CharField(default='', max_length=200)),
                ('filed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'assisted_filing', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A request filed by a mediator: shown to the resident as "filed on your behalf by".'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Mandate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.AssistedSession', source_field='session_id', db_constraint=True, to_field='id', related_name='mandates', on_delete=OnDelete.CASCADE)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='mandates', on_delete=OnDelete.CASCADE)),
                ('mediator', fields.ForeignKeyField('models.StaffMember', source_field='mediator_id', db_constraint=True, to_field='id', related_name='mandates', on_delete=OnDelete.RESTRICT)),
                ('kinds', fields.JSONField(default=[], encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('signatory_ids', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('valid_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('paper_signed', fields.BooleanField(default=False)),
                ('signed_recorded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mandate', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What the resident allows the mediator to file for them, to whom, until when.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MediationEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mediator', fields.ForeignKeyField('models.StaffMember', source_field='mediator_id', db_constraint=True, to_field='id', related_name='mediation_events', on_delete=OnDelete.RESTRICT)),
                ('resident_ref', fields.IntField(null=True, db_index=True)),
                ('action', fields.CharField(max_length=32)),
                ('outcome', fields.CharField(default='done', max_length=16)),
                ('request_reference', fields.CharField(null=True, max_length=32)),
                ('detail', fields.JSONField(default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mediation_event', 'app': 'models', 'pk_attr': 'id', 'table_description': "The mediators' audit log: one row per action, done or refused. Ids only, no names."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResidentContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.OneToOneField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='mediation_contact', on_delete=OnDelete.CASCADE)),
                ('full_name', fields.CharField(max_length=200)),
                ('address_lines', fields.JSONField(default=[], encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reached_at_help_point', fields.BooleanField(default=False)),
                ('help_point', fields.CharField(default='', max_length=200)),
                ('match_key', fields.CharField(db_index=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mediation_contact', 'app': 'models', 'pk_attr': 'id', 'table_description': 'How to reach a resident who has no email: a name and a postal address, or the help point.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ToldMark',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.OneToOneField('models.DeliveryEvent', source_field='event_id', db_constraint=True, to_field='id', related_name='told_mark', on_delete=OnDelete.CASCADE)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='told_marks', on_delete=OnDelete.CASCADE)),
                ('mediator', fields.ForeignKeyField('models.StaffMember', source_field='mediator_id', db_constraint=True, to_field='id', related_name='told_marks', on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharField(max_length=16)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mediation_told', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A change in a request (an audit event) that was passed on to a resident without email.'},
            bases=['Model'],
        ),
    ]
