"""Matching: a pure function from content hashes, an index snapshot and bank policies to matches.

See :func:`match_hashes` for the steps and :func:`verdict` for what the matches call for.
"""

from keepdown.matching.matcher import (
    BankPolicy,
    ContentHashes,
    Match,
    Verdict,
    match_hashes,
    verdict,
)

__all__ = ["BankPolicy", "ContentHashes", "Match", "Verdict", "match_hashes", "verdict"]
