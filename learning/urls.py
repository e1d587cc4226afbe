from django.urls import path

from learning import teach_views, views

app_name = "learning"

urlpatterns = [
    path("", views.home, name="home"),
    path("modules/", views.my_modules, name="my_modules"),
    path("join/", views.join, name="join"),
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
    path("teach/", teach_views.teach, name="teach"),
    path("teach/new/", teach_views.class_new, name="class_new"),
    path("teach/invites/<int:invite_id>/accept/", teach_views.invite_accept, name="invite_accept"),
    path(
        "teach/invites/<int:invite_id>/decline/", teach_views.invite_decline, name="invite_decline"
    ),
    path("teach/content/", teach_views.content, name="content"),
    path("teach/content/upload/", teach_views.content_upload, name="content_upload"),
    path("teach/content/folder/", teach_views.content_folder, name="content_folder"),
    path("teach/content/preview/<str:token>/", teach_views.content_preview, name="content_preview"),
    path("teach/<int:class_id>/class/", teach_views.class_manage, name="class_manage"),
    path("teach/<int:class_id>/class/rename/", teach_views.class_rename, name="class_rename"),
    path("teach/<int:class_id>/class/archive/", teach_views.class_archive, name="class_archive"),
    path(
        "teach/<int:class_id>/class/rotate-code/",
        teach_views.class_rotate_code,
        name="class_rotate_code",
    ),
    path(
        "teach/<int:class_id>/class/students/<int:user_id>/remove/",
        teach_views.class_student_remove,
        name="class_student_remove",
    ),
    path("teach/<int:class_id>/class/invite/", teach_views.class_invite, name="class_invite"),
    path(
        "teach/<int:class_id>/class/instructors/<int:user_id>/remove/",
        teach_views.class_instructor_remove,
        name="class_instructor_remove",
    ),
    path(
        "teach/<int:class_id>/class/invites/<int:invite_id>/withdraw/",
        teach_views.class_invite_withdraw,
        name="class_invite_withdraw",
    ),
    path("teach/<int:class_id>/class/modules/", teach_views.class_modules, name="class_modules"),
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
