from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from desk.requests.models import DeliveryState
from desk.staff.models import StaffRole
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Holding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='holdings', on_delete=OnDelete.CASCADE)),
                ('subject_hash', fields.CharField(max_length=64)),
                ('identifier_kind', fields.CharField(max_length=16)),
                ('declarations', fields.JSONField(default=[], encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'holding', 'app': 'models', 'unique_together': (('signatory', 'subject_hash'),), 'pk_attr': 'id', 'table_description': 'A signatory declares it holds data about someone, known only by a keyed hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='idempotency_records', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=255)),
                ('method', fields.CharField(max_length=8)),
                ('path', fields.CharField(max_length=500)),
                ('body_sha256', fields.CharField(max_length=64)),
                ('status', fields.IntField(null=True)),
                ('response_body', fields.BinaryField(null=True)),
                ('content_type', fields.CharField(default='application/json', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idempotency_record', 'app': 'models', 'unique_together': (('signatory', 'key'),), 'pk_attr': 'id', 'table_description': 'The first answer to a POST with an Idempotency-Key, replayed for the same key and body.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LineageEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='lineage_events', on_delete=OnDelete.CASCADE)),
                ('subject_hash', fields.CharField(db_index=True, max_length=64)),
                ('category', fields.CharField(max_length=200)),
                ('purpose', fields.CharField(default='', max_length=300)),
                ('recipient', fields.CharField(default='', max_length=200)),
                ('occurred_on', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'lineage_event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Data of a category used for a purpose or shared with a recipient, on a date.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerClient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.CharField(unique=True, max_length=64)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='clients', on_delete=OnDelete.CASCADE)),
                ('label', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'partner_client', 'app': 'models', 'pk_attr': 'id', 'table_description': 'OAuth2 client credentials of one signatory (several may exist, e.g. per system).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ClientSecret',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('models.PartnerClient', source_field='client_id', db_constraint=True, to_field='id', related_name='secrets', on_delete=OnDelete.CASCADE)),
                ('secret_hash', fields.CharField(max_length=300)),
                ('prefix', fields.CharField(max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'client_secret', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A hashed client secret. Two may be active at once, so a partner can rotate without a gap.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('display_name', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(description='BACK_OFFICE: back_office\nMEDIATOR: mediator\nCOMMITTEE: committee\nADMIN: admin', enum_type=StaffRole, max_length=16)),
                ('help_point', fields.CharField(default='', max_length=200)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_member', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Delivery',
            name='state',
            field=fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: pending\nSENT: sent\nACKNOWLEDGED: acknowledged\nEXTENDED: extended\nAWAITING_INFO: awaiting_info\nFULFILLED: fulfilled\nDENIED: denied\nWITHDRAWN: withdrawn\nFAILED: failed', enum_type=DeliveryState, max_length=16),
        ),
        ops.AddField(
            model_name='Delivery',
            name='channel',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Delivery',
            name='info_answer',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Delivery',
            name='info_request',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='LoginChallenge',
            name='audience',
            field=fields.CharField(default='resident', db_default='resident', max_length=16),
        ),
        ops.AddField(
            model_name='Signatory',
            name='hashing_key',
            field=fields.CharField(default='', db_default='', max_length=300),
        ),
    ]
