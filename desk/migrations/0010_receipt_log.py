from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_statistics_snapshot')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LogNode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('level', fields.SmallIntField()),
                ('position', fields.BigIntField()),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'receipt_log_node', 'app': 'models', 'unique_together': (('level', 'position'),), 'pk_attr': 'id', 'table_description': 'A complete subtree of the log: leaves [position * 2**level, (position + 1) * 2**level).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TreeHead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('size', fields.BigIntField(unique=True)),
                ('root_hash', fields.CharField(max_length=64)),
                ('jws', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'receipt_tree_head', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed tree head: "the log has `size` leaves and this root", signed by the desk.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Receipt',
            options={'table': 'receipt', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One signed receipt, committed with the answer it records; logged shortly after.'},
        ),
        ops.AlterField(
            model_name='Receipt',
            name='sequence',
            field=fields.IntField(null=True, unique=True),
        ),
        ops.AddField(
            model_name='Receipt',
            name='leaf_hash',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name='Receipt',
            name='leaf_index',
            field=fields.BigIntField(null=True, unique=True),
        ),
        ops.AlterModelOptions(
            name='TransparencyCheckpoint',
            options={'table': 'transparency_checkpoint', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed statement of the old receipts chain (its size and head hash), kept so the'},
        ),
    ]
