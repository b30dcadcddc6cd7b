-- Reserved for policies; filled in by the work that needs it.
SELECT 1;
