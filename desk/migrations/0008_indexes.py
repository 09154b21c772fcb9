from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_security')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Delivery',
            index=Index(fields=['received_at']),
        ),
        ops.AddIndex(
            model_name='DeliveryEvent',
            index=Index(fields=['delivery_id', 'id']),
        ),
        ops.AddIndex(
            model_name='OutboxJob',
            index=Index(fields=['state', 'run_after']),
        ),
        ops.AddIndex(
            model_name='RightsRequest',
            index=Index(fields=['resident_id', 'created_at']),
        ),
    ]
