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
    path("teach/", views.teach, name="teach"),
    path("teach/<int:class_id>/", views.class_dashboard, name="dashboard"),
    path(
        "teach/<int:class_id>/students/<int:user_id>/",
        views.student_detail,
        name="dashboard_student",
    ),
    path(
        "teach/<int:class_id>/students/<int:user_id>/objectives/<int:objective_id>/review/",
        views.objective_review_save,
        name="objective_review",
    ),
    path("teach/<int:class_id>/export.csv", views.export_csv, name="export_csv"),
    path("teach/<int:class_id>/export.json", views.export_json, name="export_json"),
]
