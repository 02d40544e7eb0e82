from sunshine.jobs.schedule import Periodic

JOBS = [
    Periodic("notifications.requeue_stalled", "sunshine.notifications.tasks.requeue_stalled", "* * * * *"),
]
