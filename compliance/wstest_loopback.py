# Python 2.7 entry point for autobahntestsuite's wstest that binds every listening socket to
# a loopback address (127.0.0.1; WSTEST_BIND overrides) instead of all interfaces. Otherwise
# identical to the `wstest` script. From the project's shared Autobahn tools
# (../shared/autobahn/setup.sh); compliance/setup.sh installs it next to the wstest launcher.
import os, sys
from autobahntestsuite import choosereactor  # installs the epoll reactor first
from twisted.internet import reactor

_BIND = os.environ.get("WSTEST_BIND", "127.0.0.1")
_orig_listenTCP = reactor.listenTCP
_orig_listenSSL = reactor.listenSSL


def _listenTCP(port, factory, backlog=50, interface=''):
    return _orig_listenTCP(port, factory, backlog, interface or _BIND)


def _listenSSL(port, factory, contextFactory, backlog=50, interface=''):
    return _orig_listenSSL(port, factory, contextFactory, backlog, interface or _BIND)


reactor.listenTCP = _listenTCP
reactor.listenSSL = _listenSSL

from autobahntestsuite.wstest import run
sys.argv[0] = "wstest"
run()
