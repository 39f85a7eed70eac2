"""The parity suite's data and machinery (tests/parity/ holds its tests; docs/parity.md).

``scenarios``   the scenarios: what the scripted server does, what the client does
``arguments``   the argument table: constructor URLs and protocols, close() arguments
``known``       the differences from Chromium that cannot be removed, each with its reason
``reference.js`` Chromium's side: tests/scenarios/parity.py, line for line, in JavaScript
``harness``     the batches: every runtime runs all scenarios once, the tests compare
"""
