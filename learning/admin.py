from django.contrib import admin

from .models import Klass, Module, Objective, ObjectiveProgress, Resource, ResourceProgress, Section


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
    list_display = ["title", "module", "kind", "material_type", "time_text", "minutes", "archived_at"]
    list_filter = ["module", "kind"]
    search_fields = ["title", "url"]


@admin.register(Klass)
class KlassAdmin(admin.ModelAdmin):
    list_display = ["name", "invite_code", "created_at"]
    readonly_fields = ["invite_code"]
    filter_horizontal = ["instructors", "students", "modules"]
    search_fields = ["name", "invite_code"]


@admin.register(ObjectiveProgress)
class ObjectiveProgressAdmin(admin.ModelAdmin):
    list_display = ["student", "objective", "confidence", "evidence", "updated_at"]
    list_filter = ["evidence", "objective__module"]
    search_fields = ["student__username"]


@admin.register(ResourceProgress)
class ResourceProgressAdmin(admin.ModelAdmin):
    list_display = ["student", "resource", "done_at"]
