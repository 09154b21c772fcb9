from tortoise import migrations
from tortoise.migrations import operations as ops
from desk.charter.models import College
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_complaint_life')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AlertContest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('alert', fields.ForeignKeyField('models.Alert', source_field='alert_id', db_constraint=True, to_field='id', related_name='contests', on_delete=OnDelete.CASCADE)),
                ('reason', fields.TextField(unique=False)),
                ('filed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(default='', db_default='', max_length=16)),
                ('reasoning', fields.TextField(default='', db_default='', unique=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'alert_contest', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signatory contests an alert, the ethics committee decides (public, no personal data).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CharterSuggestion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('principle', fields.IntField(null=True)),
                ('text', fields.TextField(unique=False)),
                ('author_email', fields.CharField(default='', db_default='', max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('public_text', fields.TextField(default='', db_default='', unique=False)),
                ('outcome', fields.CharField(default='', db_default='', max_length=16)),
                ('answer', fields.TextField(default='', db_default='', unique=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'charter_suggestion', 'app': 'models', 'pk_attr': 'id', 'table_description': "Someone's suggestion to improve the charter (principle 5) and the committee's answer."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CommitteeSeat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('college', fields.CharEnumField(description='ELECTED: elected\nCITIZENS: citizens\nEXPERTS: experts\nSIGNATORIES: signatories', enum_type=College, max_length=16)),
                ('office', fields.CharField(default='', db_default='', max_length=200)),
                ('mandate_start', fields.DateField()),
                ('mandate_end', fields.DateField(null=True)),
            ],
            options={'table': 'committee_seat', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One member of the ethics committee as a public office holder: name, college, mandate.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Alert',
            name='withdrawn_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
