"""Records for authorities: NCMEC CyberTipline reports, statements of reasons to the DSA
Transparency Database, goAML reports (keepdown.filings, docs/filings.md).

Who files and with which credentials is each organisation's filing profile (``keepdown
regulator profile``), not a setting: these are the deployment's addresses and patience.
"""

from __future__ import annotations

from keepdown.settings.setting import integer, number, text

__all__ = ["FilingSettings"]


class FilingSettings:
    """Where records go, and how patient the senders are."""

    filings_ncmec_test_url = text(
        "https://exttest.cybertip.org/ispws",
        "NCMEC's CyberTipline reporting web service, test environment (reports are discarded).",
    )
    filings_ncmec_production_url = text(
        "https://report.cybertip.org/ispws",
        "NCMEC's CyberTipline reporting web service, production environment.",
    )
    filings_dsa_sandbox_url = text(
        "",
        "The DSA Transparency Database's sandbox API (…/api/v1), as the Digital Services "
        "Coordinator gave it at onboarding; empty: statements for the sandbox wait.",
    )
    filings_dsa_production_url = text(
        "https://transparency.dsa.ec.europa.eu/api/v1",
        "The DSA Transparency Database's production API.",
    )
    filings_preserved_dir = text(
        "",
        "Folder of files a platform preserved (named by SHA-256; read only) that CyberTipline "
        "reports upload; empty: reports carry hashes, never files.",
    )
    filings_goaml_xsd = text(
        "",
        "The FIU's goAML schema (XSD) every goAML report is checked against before it is "
        "written; empty: reports are written unchecked, and say so.",
    )
    filings_flagger_statement_file = text(
        "",
        "Text file with the trusted flagger's statement on its independence (DSA Art. 22(3)), "
        "printed in its annual report; empty: the report says it is not given.",
    )
    filings_timeout_seconds = number(
        60.0, "Time-out of one request to NCMEC or the Transparency Database.", minimum=1
    )
    filings_max_attempts = integer(
        5,
        "Attempts of one CyberTipline step that failed for a passing reason (network, 5xx) "
        "before the report is marked failed for an operator.",
        minimum=1,
    )
    filings_idle_minutes = number(
        45.0,
        "An open CyberTipline report whose steps stalled this long is withdrawn and opened "
        "again (NCMEC deletes unfinished reports an hour after their last change).",
        minimum=1,
        maximum=55,
    )
