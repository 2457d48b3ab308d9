"""Hash exchanges: feeds in from the world's lists, feedback and write-back out, and a defence
against bad entries (``docs/exchanges.md``).
"""
