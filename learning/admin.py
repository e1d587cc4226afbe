from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Klass, Module, Objective, ObjectiveProgress, Resource, ResourceProgress, Section
from .services.accounts import INSTRUCTORS

# The admin is for operators (superusers) only: learning/admin_site.py.


class ObjectiveInline(admin.TabularInline):
    model = Objective
    fields = ["order", "text", "verifier", "archived_at"]
    readonly_fields = ["archived_at"]
    extra = 0
    can_delete = False  # removing an objective archives it (the importer); progress stays


# What the importer writes (content, sanitised HTML) is read-only here: the
# course's Markdown is the source, and /teach/content/ imports it.
IMPORTED = ["slug", "source_path", "content_hash", "intro_html", "imported_at", "updated_at"]


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "sort", "parent", "source_path", "updated_at", "archived_at"]
    search_fields = ["title", "slug", "source_path"]
    readonly_fields = IMPORTED
    inlines = [ObjectiveInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting would cascade to every class's progress: the importer archives instead.
        return False


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["title", "module", "order"]
    list_filter = ["module"]
    readonly_fields = ["html"]


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "module",
        "kind",
        "material_type",
        "time_text",
        "minutes",
        "archived_at",
    ]
    list_filter = ["module", "kind"]
    search_fields = ["title", "url"]


@admin.register(Klass)
class KlassAdmin(admin.ModelAdmin):
    list_display = ["name", "invite_code", "student_count", "created_at", "archived_at"]
    readonly_fields = ["invite_code"]
    filter_horizontal = ["instructors", "modules"]
    exclude = ["students"]  # students join with the invite code, never by someone else's hand
    search_fields = ["name", "invite_code"]

    @admin.display(description="students")
    def student_count(self, klass: Klass) -> int:
        return klass.students.count()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "instructors":
            users = get_user_model().objects.order_by("username")
            kwargs["queryset"] = users.filter(groups__name=INSTRUCTORS)
        elif db_field.name == "modules":
            kwargs["queryset"] = Module.objects.filter(archived_at__isnull=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadOnlyProgressAdmin(admin.ModelAdmin):
    """Students' own records: shown, never edited (evidence and reviews have their services)."""

    item_field: str  # the objective or resource each subclass shows

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("student")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ObjectiveProgress)
class ObjectiveProgressAdmin(ReadOnlyProgressAdmin):
    list_display = ["student", "objective", "confidence", "evidence", "review", "updated_at"]
    list_filter = ["evidence", "objective__module"]
    search_fields = ["student__username"]


@admin.register(ResourceProgress)
class ResourceProgressAdmin(ReadOnlyProgressAdmin):
    list_display = ["student", "resource", "done_at"]
    search_fields = ["student__username"]
