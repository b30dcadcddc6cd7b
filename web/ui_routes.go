package web

// uiRoutes is the server-rendered UI. Pages take sessions; forms carry
// the session's CSRF token.
func (s *Server) uiRoutes() []Route {
	return nil
}
