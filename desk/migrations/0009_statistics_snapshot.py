from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StatisticsSnapshot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=100)),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'statistics_snapshot', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The figures of /statistiques for one period, computed once and shown to everyone.'},
            bases=['Model'],
        ),
    ]
