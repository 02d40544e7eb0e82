"""Documents checklist and uploads of an application."""
