"""The cooperation part of the JSON API (mounted at /api/v1/ by entente.api)."""

from ninja import Router

router = Router(tags=["cooperation"])
