"""People: users, web sessions, review decisions.

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.
"""

from __future__ import annotations
