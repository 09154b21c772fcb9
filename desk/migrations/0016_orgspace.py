from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from desk.registry.models import SignatoryKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_committee')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeclarationDocument',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('declaration', fields.ForeignKeyField('models.Declaration', source_field='declaration_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.CASCADE)),
                ('sha256', fields.CharField(max_length=64)),
                ('size', fields.IntField()),
                ('content', fields.BinaryField()),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'declaration_document', 'app': 'models', 'unique_together': (('declaration', 'sha256'),), 'pk_attr': 'id', 'table_description': 'An impact study (DPIA) uploaded as a PDF, public like its declaration.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organisation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('kind', fields.CharEnumField(description='PUBLIC_BODY: public_body\nPUBLIC_OPERATOR: public_operator\nSOCIAL_HOUSING: social_housing\nCOMPANY: company\nASSOCIATION: association', enum_type=SignatoryKind, max_length=32)),
                ('siret', fields.CharField(default='', db_default='', max_length=14)),
                ('website', fields.CharField(default='', db_default='', max_length=300)),
                ('description', fields.TextField(default='', db_default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'register_organisation', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An entry of the register of organisations that are not signatories (the CAF, the'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Declaration',
            name='dpia_pdf_sha256',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddField(
            model_name='Declaration',
            name='recipient_refs',
            field=fields.JSONField(default=[], db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
