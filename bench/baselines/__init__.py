"""The baselines the product is measured against, speaking the subset of PROTOCOL.md §3 that
the load process uses: ``subscribe`` → ``history`` + ``subscribed``, ``send`` → ``ack`` and a
``message`` to every subscriber, ``ping`` → ``pong``."""
