from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_partners_staff')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='DeliveryEvent',
            name='actor',
            field=fields.CharField(max_length=100),
        ),
    ]
