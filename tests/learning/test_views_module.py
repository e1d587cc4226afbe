"""The module page: objectives, sections and resources, and ticking them."""

import re

import pytest
from django.urls import reverse

from learning.models import ObjectiveProgress, ResourceProgress

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def module_url(module):
    return reverse("learning:module", args=[module.slug])


def save_url(module, objective):
    return reverse("learning:objective_save", args=[module.slug, objective.pk])


def first_objective(module):
    return module.objectives.filter(archived_at__isnull=True).order_by("order").first()


def test_it_shows_intro_objectives_sections_and_resources_in_that_order(student_client, module):
    html = student_client.get(module_url(module)).content.decode()
    intro = html.index("Create a conda environment with PyTorch")
    objectives = html.index("Describe the trends in paper implementations")
    section = html.index("2. PyTorch")
    resource = html.index("Deep Learning with PyTorch")
    assert intro < objectives < section < resource


def test_it_hides_archived_objectives_and_resources(student_client, module):
    html = student_client.get(module_url(module)).content.decode()
    assert "An objective that was removed" not in html
    assert "Old link" not in html


def test_a_verified_objective_says_so_and_starts_unverified(student_client, module):
    html = student_client.get(module_url(module)).content.decode()
    assert "Checked on your own machine" in html
    assert 'id="evidence-' in html
    assert "Not started" in html


def test_it_shows_each_status(student_client, student, module):
    gpu, trends, why = module.objectives.filter(archived_at__isnull=True).order_by("order")
    ObjectiveProgress.objects.create(
        student=student, objective=trends, evidence="needs_work", evidence_summary="CUDA not found"
    )
    ObjectiveProgress.objects.create(student=student, objective=why, evidence="verified")
    student_client.post(save_url(module, gpu), {"confidence": "3"})
    html = student_client.get(module_url(module)).content.decode()
    assert "Self-assessed, not yet verified" in html
    assert "Your confidence: 3 of 5" in html
    assert "Needs work" in html and "CUDA not found" in html
    assert "Verified by evidence" in html


def test_progress_counts_objectives_resources_and_time_left(student_client, student, module):
    blitz = module.resources.get(title="A 60 Minute Blitz")
    ResourceProgress.objects.create(student=student, resource=blitz)
    student_client.post(save_url(module, first_objective(module)), {"confidence": "4"})
    html = student_client.get(module_url(module)).content.decode()
    assert 'Objectives <span class="count">1 of 3</span>' in html
    assert 'Resources <span class="count">1 of 4</span>' in html
    # 3 hours left with an estimate; the video and the "... hours" book have none.
    assert "About 3 h left, plus 2 resources with no time estimate." in html


def test_saving_without_htmx_redirects_to_the_objective(student_client, student, module):
    objective = first_objective(module)
    response = student_client.post(
        save_url(module, objective), {"confidence": "4", "reflection": "conda create -n gpu"}
    )
    assert response.status_code == 302
    assert response.url == f"{module_url(module)}#objective-{objective.pk}"
    progress = ObjectiveProgress.objects.get(student=student, objective=objective)
    assert (progress.confidence, progress.reflection) == (4, "conda create -n gpu")
    assert progress.status == "self_assessed"


def test_saving_with_htmx_returns_the_row_and_the_progress_out_of_band(student_client, module):
    objective = first_objective(module)
    response = student_client.post(save_url(module, objective), {"confidence": "4"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li id="objective-{objective.pk}"')
    assert '<div id="progress" hx-swap-oob="innerHTML">' in html
    assert "<html" not in html
    assert "Saved." in html


@pytest.mark.parametrize("confidence", ["0", "6", "", "four"])
def test_a_bad_confidence_is_a_400_for_htmx_with_the_input_kept(student_client, module, confidence):
    objective = first_objective(module)
    data = {"confidence": confidence, "reflection": "my notes <b>stay</b>"}
    response = student_client.post(save_url(module, objective), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400
    assert html.lstrip().startswith(f'<li id="objective-{objective.pk}"')
    assert "from 1 to 5" in html
    assert "my notes &lt;b&gt;stay&lt;/b&gt;" in html
    assert not ObjectiveProgress.objects.exists()


def test_a_too_long_reflection_is_a_400_page_without_htmx_and_nothing_is_written(
    student_client, module
):
    objective = first_objective(module)
    data = {"confidence": "5", "reflection": "x" * 2001}
    response = student_client.post(save_url(module, objective), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "<html" in html
    assert "2000 characters or fewer (it has 2001)" in html
    assert "x" * 2001 in html
    assert re.search(r'value="5"[^>]* checked', html)
    assert not ObjectiveProgress.objects.exists()


def test_a_reflection_of_exactly_2000_characters_is_kept(student_client, student, module):
    objective = first_objective(module)
    student_client.post(save_url(module, objective), {"confidence": "2", "reflection": "y" * 2000})
    assert len(ObjectiveProgress.objects.get(student=student).reflection) == 2000


def test_unticking_removes_the_self_assessment(student_client, student, module):
    objective = first_objective(module)
    student_client.post(save_url(module, objective), {"confidence": "4"})
    url = reverse("learning:objective_clear", args=[module.slug, objective.pk])
    response = student_client.post(url, **HTMX)
    assert response.status_code == 200
    assert "Not started" in response.content.decode()
    assert not ObjectiveProgress.objects.filter(student=student).exists()


def test_unticking_keeps_the_evidence(student_client, student, module):
    objective = first_objective(module)
    ObjectiveProgress.objects.create(
        student=student, objective=objective, evidence="verified", confidence=2
    )
    student_client.post(save_url(module, objective), {"confidence": "4"})
    student_client.post(reverse("learning:objective_clear", args=[module.slug, objective.pk]))
    progress = ObjectiveProgress.objects.get(student=student)
    assert (progress.evidence, progress.confidence, progress.self_assessed_at) == (
        "verified",
        None,
        None,
    )


def test_marking_a_resource_done_and_not_done(student_client, student, module):
    resource = module.resources.get(title="Deep Learning with PyTorch")
    url = reverse("learning:resource_done", args=[module.slug, resource.pk])

    response = student_client.post(url, {"done": "on"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="resource-{resource.pk}" class="is-done"')
    assert "hx-swap-oob" in html
    assert ResourceProgress.objects.filter(student=student, resource=resource).exists()

    response = student_client.post(url, {})
    assert response.status_code == 302
    assert response.url.endswith(f"#resource-{resource.pk}")
    assert not ResourceProgress.objects.filter(student=student).exists()


def test_the_page_loads_htmx_from_our_static_files_with_csrf_on_the_body(student_client, module):
    html = student_client.get(module_url(module)).content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in html
    assert '<body hx-headers=\'{"x-csrftoken": "' in html
    assert "<script>" not in html  # no inline scripts


def test_module_html_is_trusted_but_resource_text_is_escaped(student_client, module):
    module.resources.filter(title="A 60 Minute Blitz").update(
        title="<script>alert(1)</script>", url="javascript:alert(1)"
    )
    html = student_client.get(module_url(module)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html
    assert "<p>PyTorch is popular.</p>" in html
