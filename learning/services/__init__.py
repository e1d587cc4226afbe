"""Writes for the learning app, one module per area:

- importing: course pages into modules, objectives, sections and resources;
- progress: students' ticks, self-assessments and resources done;
- accounts: classes, invite codes and roles.
"""
