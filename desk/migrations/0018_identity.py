from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0017_mediator')]

    initial = False

    operations = [
        ops.AddField(
            model_name='LoginChallenge',
            name='approved_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='LoginChallenge',
            name='code_attempts',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='LoginChallenge',
            name='ended',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='LoginChallenge',
            name='other_asked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='LoginChallenge',
            name='other_device',
            field=fields.CharField(null=True, max_length=80),
        ),
        ops.AddField(
            model_name='LoginChallenge',
            name='other_digest',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
