"""The plugin kit: vendor-neutral building blocks a plugin may import, beside the hook contract.

Public, like ``hub.entities`` and ``hub.errors`` (docs/plugin-guide.md lists the modules). Each
module has one job and depends only on the public contract, never on the hub's internals:

- ``hub.kit.provider``: the invitation flow every assessment provider repeats (re-read the
  candidate, the email check, the lease + re-check "still pending" around the vendor call, the
  re-invite guard, the earlier rounds' references a re-invite withdraws at the vendor, recording the
  vendor's answer, one failing invitation not stopping the others).
- ``hub.kit.webhook_secrets``: several active webhook signing secrets (rotation) in one setting.
- ``hub.kit.json_body``: strict JSON for webhook bodies, refusing what ``json.loads`` lets through.
- ``hub.kit.retry_after``: a vendor's ``Retry-After`` (seconds or an HTTP-date) as seconds to wait.
- ``hub.kit.vendor_http``: a vendor's API base URL setting (a marshmallow validator refusing what a
  plugin cannot use), settings fields for whole numbers (``WholeNumber``: 1.5 refused, not cut to
  1), decimal numbers (``DecimalNumber``: "1_0" and "inf" refused, though ``float()`` takes them)
  and ids, keys and secrets (``PlainText``: control and invisible characters refused), and
  an error answer that is not the vendor's JSON (an HTML page) put in words.
- ``hub.kit.sandbox``: pieces of a vendor simulator (fault injection, a signed webhook sender,
  serving over HTTP and the ``python -m`` entry point). It imports nothing else of the hub, so a
  sandbox stays a stand-alone program.

Importing ``hub.kit`` imports none of them; import the module you use.
"""
