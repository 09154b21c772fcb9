from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_mediation_consent')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Mandate',
            name='revoked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Mandate',
            name='revoked_by',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
