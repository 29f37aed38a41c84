"""Nothing of industry security is in the admin, on purpose.

A request for visit is a protected record: the admin would show it without the kernel's decision
and without an audited read. Facility clearances are granted and revoked only through
``industry.services`` (by the organisation's own national security authority, audited); the
read-only history is on the industry pages, the API and ``entente industry``.
"""
