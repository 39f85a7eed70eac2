"""Sphinx configuration of pyws's documentation (``./build.sh docs`` -> build/docs/html).

The pages are Markdown (MyST); the API reference is read from the docstrings (autodoc).
The build never touches the network: no intersphinx (so no inventory is fetched), no
remote images, and the theme (furo) ships its assets. ``-W`` makes every warning an error.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # document this checkout's pyws, installed or not

import pyws  # noqa: E402

project = "pyws"
author = "the pyws authors"
copyright = "the pyws authors"  # noqa: A001 - Sphinx's name
release = version = pyws.__version__

# No sphinx.ext.napoleon: pyws's docstrings are plain prose with reST markup, no
# Google/NumPy sections (napoleon would read a property's "x" (default...) as a type).
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
# Offline on purpose: sphinx.ext.intersphinx is not loaded, so nothing is fetched. A
# reference to Python's own names (``ssl.SSLContext``) stays plain text.

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

# -- MyST ------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence"]
# Anchors for "page.md#a-section" links, down to ### headings.
myst_heading_anchors = 3
# Unlabelled code blocks (tool output, usage lines) are shown as they are.
highlight_language = "none"

# -- autodoc ---------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
# Unresolvable references are not warnings (nitpicky is off): names of the standard
# library and of the DOM (``ssl.SSLContext``, ``asyncio.Future``) have no target offline.
nitpicky = False

# -- HTML ------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"pyws {release}"
html_static_path = ["_static"]
html_css_files = ["pyws.css"]
html_show_sourcelink = False
