"""Staff sign-in, counter intake, work queues, leader dashboard, bulk reassignment."""
