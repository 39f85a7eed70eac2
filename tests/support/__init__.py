"""What the test suites share (tests/ is on ``sys.path``: ``from support.servers import ...``).

``paths``           the checkout's directories and build outputs the tests use
``server_thread``   an asyncio server on its own event loop in a daemon thread: every
                    server below runs through it
``servers``         the behaviour server (one server, behaviours chosen by the request path),
                    a wss:// echo server, ``unused_port()``
``scripted_server`` a server on raw sockets that does what a script says, byte for byte,
                    and records what the client sent (the parity and hardening suites)
``proxy_server``    an HTTP CONNECT proxy that records and can misbehave
``socks_server``    tiny-proxy's SOCKS5/5h and SOCKS4/4a server, recording each request's
                    destination and resolving test names from its own table
``held_server``     a websockets server (TCP or a Unix socket path) that holds every opening
                    handshake until the test lets it go
``leaks``           proof that a CPython socket leaves nothing behind (descriptors, loop
                    errors, log records)
``pyodide_plugin``  the pytest plugin behind the ``pyodide_runtime`` fixture; it loads
                    ``pyodide_harness`` (pytest-pyodide, Selenium) only when a selected
                    test needs a runtime
``pyodide_harness`` the Pyodide runtimes (Node, a Chromium page, a Chromium worker)
``processes``       ending a browser's process tree
``sites_browser``   the PyScript and JupyterLite sites server and one headless Chromium
``parity``          the parity suite's scenarios, argument table, known differences, its
                    Chromium reference (reference.js) and the cache of every runtime's batch
``scripts/``        plain scripts that tests run as CPython subprocesses

The client side of the scenarios is not here: tests/scenarios/ is copied into every
Pyodide runtime and imported there as ``scenarios``, as it is in CPython.
"""
