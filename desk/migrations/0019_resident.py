from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0018_identity')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AccessCopy',
            name='taken_by',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Delivery',
            name='info_identity',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Delivery',
            name='paused_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='RightsRequest',
            name='consent_withdrawal',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='RightsRequest',
            name='declaration',
            field=fields.ForeignKeyField('models.Declaration', source_field='declaration_id', null=True, db_constraint=True, to_field='id', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='RightsRequest',
            name='scope',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
