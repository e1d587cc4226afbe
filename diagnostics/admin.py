from django.contrib import admin

from .models import CheckRun, Report, WorkerToken


@admin.register(WorkerToken)
class WorkerTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "student", "created_at", "revoked_at", "last_seen_at"]
    list_filter = ["revoked_at"]
    search_fields = ["student__username", "prefix"]
    readonly_fields = ["prefix", "token_hash", "created_at", "last_seen_at", "last_seen_info"]


@admin.register(CheckRun)
class CheckRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "student", "mode", "state", "reason", "created_at", "finished_at"]
    list_filter = ["state", "reason", "mode"]
    search_fields = ["student__username"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["report_id", "student", "run", "objective_met", "outcome", "received_at"]
    list_filter = ["objective_met", "outcome"]
    search_fields = ["student__username", "report_id"]
    readonly_fields = [f.name for f in Report._meta.fields]
