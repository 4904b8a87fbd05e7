"""The stack's own cost: daphne, Channels and channels-redis's pub/sub layer, no product code.

Started as ours is (``python -m config.serve``, the same daphne options and ``gc_tune``), with a
consumer that only relays: ``subscribe`` → ``history`` (empty) and ``subscribed`` after a
``group_add``; ``send`` → ``ack`` and one ``group_send`` of the ``message`` frame; ``ping`` →
``pong``. No database, no sessions, no origin check, nothing stored, sanitised or checked. What
it costs per message, per socket and per step of the chat mix is what the client's chosen stack
costs before the first line of the product runs: a target it misses is out of reach for ours.
"""
