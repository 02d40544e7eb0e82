"""Staff inbox, job status page, leader supervision (督办) pages."""
