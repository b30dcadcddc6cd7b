package main

// runScanPII is being built; it reports so instead of pretending to work.
func runScanPII(e *env, args []string) error {
	return exitError{code: 1, msg: "not built yet"}
}
