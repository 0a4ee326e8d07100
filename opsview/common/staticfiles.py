"""The static files production serves: collected, named by their content's hash, compressed.

``collectstatic`` writes each file under a name carrying its hash (``charts.3f2a91c0b4de.js``), with a
Brotli (``.br``) and a gzip (``.gz``) copy beside it, and a manifest that maps names to hashed names;
whitenoise serves the compressed copy the browser accepts and, since a hashed name never changes
content, tells browsers to keep it for a year.
"""

import os

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


class CollectedStaticFiles(CompressedManifestStaticFilesStorage):
    """whitenoise's compressed manifest storage, whose URLs carry the hash in DEBUG too.

    Django hands out plain names when DEBUG is on, for files found in the source tree on each request;
    ``make run`` (DEBUG, ``OPSVIEW_COLLECTED_STATIC=1``) serves the collected files instead, so its pages
    get the names production gets, and with them the compressed, cached copies.
    """

    def url(self, name, force=False):
        return super().url(name, force=True)

    def create_compressor(self, **kwargs):
        return CompressOnce(**kwargs)


class CompressOnce(Compressor):
    """Compresses a collected file unless an earlier ``collectstatic`` already did.

    Brotli at its best quality takes about two seconds a megabyte, and ``make run`` collects at every start.
    Only hashed names are kept (``WHITENOISE_KEEP_ONLY_HASHED_FILES``): a name's content never changes, so
    a copy beside it is current, and copies are written whole or not at all (a rename), so one is complete.
    """

    def compress(self, path):
        made = path + (".br" if self.use_brotli else ".gz")
        if (self.use_brotli or self.use_gzip) and os.path.exists(made):
            return [copy for copy in (path + ".br", path + ".gz") if os.path.exists(copy)]
        return super().compress(path)

    def write_data(self, path, data, suffix, stat_result):
        partial = f"{path}{suffix}.partial"
        with open(partial, "wb") as f:
            f.write(data)
        os.utime(partial, (stat_result.st_atime, stat_result.st_mtime))
        os.replace(partial, path + suffix)
        return path + suffix
