package main

func runServe(e *env, args []string) error          { return exitError{code: 1, msg: "not built yet"} }
func runInit(e *env, args []string) error           { return exitError{code: 1, msg: "not built yet"} }
func runUserAdd(e *env, args []string) error        { return exitError{code: 1, msg: "not built yet"} }
func runTokenCreate(e *env, args []string) error    { return exitError{code: 1, msg: "not built yet"} }
func runAuditlogVerify(e *env, args []string) error { return exitError{code: 1, msg: "not built yet"} }
