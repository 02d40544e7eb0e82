from sunshine.jobs.schedule import Periodic

JOBS = [
    # The workers deliver due messages whenever they are idle; this is the safety net.
    Periodic("notifications.deliver_due", "sunshine.notifications.tasks.deliver_due_task", "* * * * *"),
]
