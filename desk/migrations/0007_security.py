from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_event_chain')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=100)),
                ('action', fields.CharField(max_length=48)),
                ('subject', fields.CharField(default='', max_length=100)),
                ('detail', fields.JSONField(default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('prev_digest', fields.CharField(null=True, max_length=64)),
                ('digest', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_record', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One security-relevant action (login, logout, staff action, retention), hash-chained.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResidentIdentity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='identities', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=40)),
                ('subject', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'resident_identity', 'app': 'models', 'unique_together': (('provider', 'subject'),), 'pk_attr': 'id', 'table_description': 'An external identity (FranceConnect) linked to a resident, keyed on (provider, subject).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('data', fields.JSONField(default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('resident_id', fields.IntField(null=True, db_index=True)),
                ('staff_id', fields.IntField(null=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'web_session', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A browser session. The cookie holds a random id, the table only its SHA-256.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LoginChallenge',
            name='browser_digest',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Resident',
            name='inactivity_warned_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='RightsRequest',
            name='assurance',
            field=fields.CharField(default='email', db_default='email', max_length=16),
        ),
        ops.AddField(
            model_name='RightsRequest',
            name='reduced_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
