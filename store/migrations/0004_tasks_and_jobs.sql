-- Reserved for tasks_and_jobs; filled in by the work that needs it.
SELECT 1;
