from tortoise import migrations
from tortoise.migrations import operations as ops
from desk.mediation.models import Consent
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_receipt_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.AssistedSession', source_field='session_id', db_constraint=True, to_field='id', related_name='consent_codes', on_delete=OnDelete.CASCADE)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='consent_codes', on_delete=OnDelete.CASCADE)),
                ('mediator', fields.ForeignKeyField('models.StaffMember', source_field='mediator_id', db_constraint=True, to_field='id', related_name='consent_codes', on_delete=OnDelete.RESTRICT)),
                ('digest', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mediation_consent_code', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A one-time code mailed to a resident so a mediator may join their account (the resident'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CopyTaken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('copy', fields.OneToOneField('models.AccessCopy', source_field='copy_id', db_constraint=True, to_field='id', related_name='taken_by_mediator', on_delete=OnDelete.CASCADE)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='copies_taken', on_delete=OnDelete.CASCADE)),
                ('mediator', fields.ForeignKeyField('models.StaffMember', source_field='mediator_id', db_constraint=True, to_field='id', related_name='copies_taken', on_delete=OnDelete.RESTRICT)),
                ('help_point', fields.CharField(default='', max_length=200)),
                ('taken_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mediation_copy_taken', 'app': 'models', 'pk_attr': 'id', 'table_description': "An access copy a mediator downloaded for a resident: the resident's pages say so."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='AssistedSession',
            name='consent',
            field=fields.CharEnumField(default=Consent.NOT_NEEDED, description='NOT_NEEDED: not_needed\nAWAITING: awaiting\nGIVEN: given\nREFUSED: refused', db_default='not_needed', enum_type=Consent, max_length=16),
        ),
        ops.AddField(
            model_name='AssistedSession',
            name='consent_method',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='AssistedSession',
            name='consented_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
