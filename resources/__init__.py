"""Icons and example flows; installed as the data-only package ``flowdesk_resources``.

Holds no code and imports nothing: ``designer.resources.resource_path`` finds
these files in a checkout and in an installed wheel.
"""
