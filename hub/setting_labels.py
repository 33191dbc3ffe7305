"""A plugin setting's name for people: the label its settings form shows ("auth_mode" ->
"Authentication", "api_key" -> "API key"), used by the form, the audit log and the connection's
status message alike."""

from __future__ import annotations

from marshmallow import fields as mf

ACRONYMS = {"api": "API", "url": "URL", "uri": "URI", "id": "ID", "ids": "IDs", "oauth": "OAuth", "ats": "ATS",
            "http": "HTTP", "https": "HTTPS", "sso": "SSO", "json": "JSON"}


def field_label(name: str, f: mf.Field | None) -> str:
    """``metadata`` title or label, else ``name`` in words with its acronyms capitalised."""
    metadata = f.metadata if f is not None else {}
    title = metadata.get("title") or metadata.get("label")
    if title:
        return str(title)
    words = [ACRONYMS.get(word.lower(), word) for word in name.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def schema_labels(schema) -> dict[str, str]:
    """Every field of the marshmallow ``schema`` class -> its label."""
    return {name: field_label(name, field) for name, field in schema().fields.items()}
