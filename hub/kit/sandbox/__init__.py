"""Pieces of a vendor sandbox (a simulator of the vendor's API, its own small Flask app on its own
port) that every sandbox needs the same: ``faults`` (seeded fault injection), ``webhooks`` (a
signed webhook sender with retries and injected delivery faults) and ``server`` (serving over
HTTP in a thread, and the ``python -m <plugin>.sandbox`` entry point of the ``register_sandbox``
contract).

What is the vendor's stays in the plugin's sandbox: its API, wire format, signature scheme, error
bodies, pages and control API. These modules import nothing of the hub but each other (importing
them loads the ``hub`` package itself, which needs only its own dependencies, not a database), so a
sandbox built on them still runs as a stand-alone program.
"""
