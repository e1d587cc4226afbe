from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Klass, Module, Objective, ObjectiveProgress, Resource, ResourceProgress, Section
from .services.accounts import INSTRUCTORS, STUDENTS

# Course content (modules, sections, objectives, resources) is shared by all
# instructors. Classes and progress are not: an instructor sees only the classes
# they teach and the progress of those classes' students. Superusers see all.


class ObjectiveInline(admin.TabularInline):
    model = Objective
    fields = ["order", "text", "verifier", "archived_at"]
    readonly_fields = ["archived_at"]
    extra = 0


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "sort", "source_path", "updated_at", "archived_at"]
    search_fields = ["title", "slug", "source_path"]
    inlines = [ObjectiveInline]


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["title", "module", "order"]
    list_filter = ["module"]


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
    list_display = ["name", "invite_code", "student_count", "created_at"]
    readonly_fields = ["invite_code"]
    filter_horizontal = ["instructors", "students", "modules"]
    search_fields = ["name", "invite_code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Klass]:
        classes = super().get_queryset(request)
        if request.user.is_superuser:
            return classes
        return classes.filter(instructors=request.user)

    @admin.display(description="students")
    def student_count(self, klass: Klass) -> int:
        return klass.students.count()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        users = get_user_model().objects.order_by("username")
        if db_field.name == "instructors":
            kwargs["queryset"] = users.filter(groups__name=INSTRUCTORS)
            kwargs["required"] = False  # the creator is added in save_related
            kwargs["help_text"] = "You are added automatically when you create a class."
        elif db_field.name == "students":
            kwargs["queryset"] = users.filter(groups__name=STUDENTS)
        elif db_field.name == "modules":
            kwargs["queryset"] = Module.objects.filter(archived_at__isnull=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the form's own m2m save, which would otherwise overwrite this.
        klass = form.instance
        if not change and (not request.user.is_superuser or not klass.instructors.exists()):
            klass.instructors.add(request.user)


class OwnClassesProgressAdmin(admin.ModelAdmin):
    """Progress rows of students in the classes the instructor teaches."""

    item_field: str  # the objective or resource each subclass shows

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request).select_related("student")
        if request.user.is_superuser:
            return rows
        return rows.filter(student__classes__instructors=request.user).distinct()

    def get_readonly_fields(self, request, obj=None):
        return ["student", self.item_field] if obj else []


@admin.register(ObjectiveProgress)
class ObjectiveProgressAdmin(OwnClassesProgressAdmin):
    item_field = "objective"
    list_display = ["student", "objective", "confidence", "evidence", "updated_at"]
    list_filter = ["evidence", "objective__module"]
    search_fields = ["student__username"]


@admin.register(ResourceProgress)
class ResourceProgressAdmin(OwnClassesProgressAdmin):
    item_field = "resource"
    list_display = ["student", "resource", "done_at"]
    search_fields = ["student__username"]
