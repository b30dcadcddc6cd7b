package main

// runDetect is being built; it reports so instead of pretending to work.
func runDetect(e *env, args []string) error {
	return exitError{code: 1, msg: "not built yet"}
}
