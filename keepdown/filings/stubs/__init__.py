"""Loopback stand-ins for the services filings talk to (NCMEC's reporting service, the DSA
Transparency Database), used by the tests and by ``keepdown serve --demo``: they answer the
documented shapes and response codes from what a test puts in them, on 127.0.0.1 only."""
