"""``make bench``: the chat server measured under load, next to two baselines.

``python -m bench.run`` starts each server as production would (``bench.server``), drives it
from a separate load process over real websockets (``bench.load``), and writes
``bench/results/latest.json``. docs/performance.md explains the method and the numbers.
"""
