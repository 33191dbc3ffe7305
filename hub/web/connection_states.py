"""The states of a connection (``Integration.status``) in one vocabulary: the pages show the label
and the meaning (``hub.web.ui.labels``), the API answers the code and its OpenAPI document lists
the codes with their meanings (``hub.web.schemas.IntegrationSchema``)."""

# code -> (the badge's label, a sentence saying what it means)
CONNECTION_STATES = {
    "not_connected": ("Not connected", "Not set up in this workspace yet."),
    "enabled": ("No credentials yet", "Its credentials are not entered yet."),
    "configured": ("Not tested yet", "Credentials saved, not tested yet."),
    "connected": ("Connected", "Credentials accepted."),
    "needs_reauthorization": ("Needs reconnecting", "The vendor refused the credentials."),
    "error": ("Error", "The last test or call failed."),
    "revoked": ("Access revoked", "Disconnected: the credentials were deleted."),
}
