"""Half-monthly report (半月报): frozen snapshots, xlsx and PDF."""
