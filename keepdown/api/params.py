"""Path and query parameters shared by the API's routes.

A row id in a path is a positive 64-bit integer: both databases store ids in at most 64 bits,
so a larger number is refused with the API's 400 before it reaches the database (SQLite's
driver raises OverflowError on it, which would answer 500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

__all__ = ["RowId"]

#: An id of a stored row, as a path parameter.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
