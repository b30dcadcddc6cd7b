package web

// taskRoutes serves the calendar of recurring duties, tasks and reminders (JSON API and pages).
func (s *Server) taskRoutes() []Route {
	return nil
}
