-- Reserved for registers; filled in by the work that needs it.
SELECT 1;
