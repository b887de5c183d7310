#!/bin/sh
# RabbitMQ for a Conduit fleet (README, "Running a fleet"): a virtual host and a user of its
# own, and the policy of its queues. Conduit declares its queue as a quorum queue itself
# (replicated on every node of a RabbitMQ cluster, redelivered when a worker dies); the policy
# adds what a declaration cannot:
# - delivery-limit: a message redelivered 20 times (a task that kills its worker every time) is
#   dropped rather than looping for ever; the webhook sweep hands the delivery over again later;
# - queue-leader-locator: spread the queues' leaders over the cluster's nodes.
# Run once on a RabbitMQ node: CONDUIT_RABBITMQ_PASSWORD=<secret> sh rabbitmq-policy.sh
set -eu
VHOST=${CONDUIT_RABBITMQ_VHOST:-conduit}
USER=${CONDUIT_RABBITMQ_USER:-conduit}
rabbitmqctl add_vhost "$VHOST" || true
rabbitmqctl add_user "$USER" "$CONDUIT_RABBITMQ_PASSWORD" || true
rabbitmqctl set_permissions -p "$VHOST" "$USER" '.*' '.*' '.*'
rabbitmqctl set_policy -p "$VHOST" --apply-to queues conduit-quorum '.*' \
  '{"delivery-limit": 20, "queue-leader-locator": "balanced"}'
# Then on every web and worker host:
#   CELERY_BROKER_URL=amqp://$USER:<secret>@<rabbitmq host>:5672/$VHOST
