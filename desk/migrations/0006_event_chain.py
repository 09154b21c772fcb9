from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_mediation')]

    initial = False

    operations = [
        ops.AddField(
            model_name='DeliveryEvent',
            name='digest',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='DeliveryEvent',
            name='prev_digest',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
