"""The naive baseline: a Channels chat built the way typical tutorials build it.

daphne, channels-redis, Django's auth and sessions (``AuthMiddlewareStack``), and a consumer
that, on every message, runs ``bleach.clean`` and one ``database_sync_to_async`` ORM insert
into its own table and database, then ``group_send``s the message text to the room. No
encryption, no hash chain, no gapless sequence, no idempotency, no membership or standing
checks, no contact-detail scan, no rate limit: the cost of the product's guarantees is the
difference between the two.
"""
