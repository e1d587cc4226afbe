from django.urls import path

from learning import views

app_name = "learning"

urlpatterns = [
    path("", views.my_modules, name="my_modules"),
    path("modules/<slug:slug>/", views.module_detail, name="module"),
    path(
        "modules/<slug:slug>/objectives/<int:objective_id>/save/",
        views.objective_save,
        name="objective_save",
    ),
    path(
        "modules/<slug:slug>/objectives/<int:objective_id>/clear/",
        views.objective_clear,
        name="objective_clear",
    ),
    path(
        "modules/<slug:slug>/resources/<int:resource_id>/done/",
        views.resource_done,
        name="resource_done",
    ),
]
