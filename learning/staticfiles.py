"""Static files storage: content-hashed and compressed once collected, plain before."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's manifest storage, which also works where collectstatic never ran.

    The image runs collectstatic: `{% static %}` then names app.<hash>.css, which
    whitenoise serves compressed with a ten-year immutable cache, and an upgrade
    changes the name of every file that changed. Without the manifest (tests, the
    demo, a fresh checkout) there is nothing hashed to name, so pages name the
    plain files, which whitenoise serves from their folders with a short cache.
    """

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:  # no manifest: collectstatic never ran here
            return name
        return super().stored_name(name)
