-- Reserved for detection; filled in by the work that needs it.
SELECT 1;
