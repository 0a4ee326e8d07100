"""Serves plotly.js from the installed plotly package as ``vendor/plotly/plotly.min.js``.

The Python package is pinned in requirements.txt and ships the matching
plotly.min.js, so the library the pages load is always the one the pinned
version was built for, and 4.8 MB of minified JavaScript stays out of git.
``collectstatic`` copies it like any other static file; nothing is fetched
from a CDN.
"""

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "vendor/plotly/plotly.min.js"


def plotly_package_data():
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyJsFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(plotly_package_data()))
        self.storage.prefix = "vendor/plotly"

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_JS:
            return [] if find_all else None
        found = str(plotly_package_data() / "plotly.min.js")
        return [found] if find_all else found

    def list(self, ignore_patterns):
        yield "plotly.min.js", self.storage
