"""One module per page (or group of pages); each exposes ``router`` (see keepdown.web)."""
