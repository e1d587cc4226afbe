"""Static files: plain names before collectstatic, hashed and gzipped after it."""

from django.core.management import call_command
from django.templatetags.static import static


def test_pages_name_the_plain_files_where_collectstatic_never_ran(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    assert static("css/app.css") == "/static/css/app.css"


def test_collected_files_get_content_hashed_names_and_gzip_copies(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    url = static("css/app.css")
    assert url.startswith("/static/css/app.") and url != "/static/css/app.css"
    hashed = tmp_path / url.removeprefix("/static/")
    assert hashed.exists() and hashed.with_name(hashed.name + ".gz").exists()
