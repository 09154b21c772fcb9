from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from desk.organisations.models import MemberRole
from desk.registry.models import ApplicationState, CharterStatus, SignatoryKind
from desk.staff.models import StaffRole
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_mandate_revocation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CharterApplication',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('kind', fields.CharEnumField(description='PUBLIC_BODY: public_body\nPUBLIC_OPERATOR: public_operator\nSOCIAL_HOUSING: social_housing\nCOMPANY: company\nASSOCIATION: association', enum_type=SignatoryKind, max_length=32)),
                ('siret', fields.CharField(max_length=14)),
                ('address', fields.TextField(unique=False)),
                ('website', fields.CharField(default='', max_length=300)),
                ('dpo_name', fields.CharField(max_length=200)),
                ('dpo_email', fields.CharField(max_length=254)),
                ('applicant_name', fields.CharField(max_length=200)),
                ('applicant_email', fields.CharField(max_length=254)),
                ('state', fields.CharEnumField(default=ApplicationState.RECEIVED, description='RECEIVED: received\nMORE_INFO: more_info\nACCEPTED: accepted\nREFUSED: refused', enum_type=ApplicationState, max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', null=True, db_constraint=True, to_field='id', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'charter_application', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A "Rejoindre la charte" form as it was sent, and the desk team\'s answer to it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeclarationVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('declaration', fields.ForeignKeyField('models.Declaration', source_field='declaration_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('change', fields.CharField(max_length=16)),
                ('snapshot', fields.JSONField(default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'declaration_version', 'app': 'models', 'unique_together': (('declaration', 'number'),), 'pk_attr': 'id', 'table_description': 'A declaration as it stood after one change: every version is kept and public.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrganisationMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('display_name', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(description='DPO: dpo\nEDITOR: editor', enum_type=MemberRole, max_length=16)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'organisation_member', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signatory', fields.ForeignKeyField('models.Signatory', source_field='signatory_id', db_constraint=True, to_field='id', related_name='status_changes', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(description='CANDIDATE: candidate\nCAPACITY_SHOWN: capacity_shown\nSIGNED: signed\nSUSPENDED: suspended\nEXCLUDED: excluded\nLEFT: left', enum_type=CharterStatus, max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('charter_version', fields.CharField(default='', max_length=32)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'signatory_status_change', 'app': 'models', 'pk_attr': 'id', 'table_description': "One dated step of a signatory's charter life, with its reason: public (principle 2)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Declaration',
            name='algorithm_explanation',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Declaration',
            name='automated_decisions',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Declaration',
            name='dpia_date',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Declaration',
            name='dpia_url',
            field=fields.CharField(default='', db_default='', max_length=300),
        ),
        ops.AddField(
            model_name='Declaration',
            name='results_statement',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Declaration',
            name='results_year',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Declaration',
            name='retired_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='Signatory',
            name='charter_status',
            field=fields.CharEnumField(default=CharterStatus.SIGNED, description='CANDIDATE: candidate\nCAPACITY_SHOWN: capacity_shown\nSIGNED: signed\nSUSPENDED: suspended\nEXCLUDED: excluded\nLEFT: left', enum_type=CharterStatus, max_length=16),
        ),
        ops.AlterField(
            model_name='Signatory',
            name='signed_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Signatory',
            name='address',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Signatory',
            name='charter_version',
            field=fields.CharField(default='', db_default='', max_length=32),
        ),
        ops.AddField(
            model_name='Signatory',
            name='dpo_name',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        ops.AddField(
            model_name='Signatory',
            name='siret',
            field=fields.CharField(default='', db_default='', max_length=14),
        ),
        ops.AlterField(
            model_name='StaffMember',
            name='role',
            field=fields.CharEnumField(description='BACK_OFFICE: back_office\nMEDIATOR: mediator\nCOMMITTEE: committee\nREGISTER: register\nADMIN: admin', enum_type=StaffRole, max_length=16),
        ),
    ]
